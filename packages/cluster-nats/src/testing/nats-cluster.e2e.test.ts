import { existsSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startNatsCluster } from './nats-cluster.js';

describe('startNatsCluster', () => {
  it('runs a server that answers on its port, restarts it with its store, and removes everything on close', async () => {
    const cluster = await startNatsCluster({ nodes: 1 });
    const node = cluster.nodes[0];
    expect(node?.running).toBe(true);
    const nc = await connect({ servers: cluster.urls });
    expect(nc.info?.jetstream).toBe(true);
    await nc.close();
    await cluster.kill(0);
    expect(node?.running).toBe(false);
    await cluster.restart(0);
    await cluster.waitForJetStream();
    expect(node?.running).toBe(true);
    await cluster.close();
    expect(node?.running).toBe(false);
    expect(existsSync(cluster.dir)).toBe(false);
    await cluster.close();
  });

  it('rejects with ERR_NATS_START, naming the fix, when the server binary cannot be run', async () => {
    await expect(startNatsCluster({ nodes: 1, bin: '/nonexistent/nats-server' })).rejects.toMatchObject({
      code: 'ERR_NATS_START',
      message: expect.stringMatching(/install Debian's nats-server package/) as unknown,
    });
  });
});
