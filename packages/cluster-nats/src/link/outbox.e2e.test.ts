// The disk outbox against one real nats-server (docs/CLUSTER.md, "The disk outbox"): what a link leaves in its
// outboxDir is published by the next link on that directory, and a batch stored before the first one ended is not
// stored again.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startNatsCluster, type NatsCluster } from '../testing/nats-cluster.js';
import { memoryLogger, recordApplied } from '../testing/recorders.js';
import { startTcpProxy } from '../testing/tcp-proxy.js';
import { createClusterLink, type ClusterLink } from './link.js';
import type { ClusterLinkOptions } from './options.js';

let server: NatsCluster;
let testNo = 0;
const open: ClusterLink[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  server = await startNatsCluster({ nodes: 1 });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await server?.close();
});

function link(options: Partial<ClusterLinkOptions> & Pick<ClusterLinkOptions, 'nodeName' | 'apply'>): ClusterLink {
  const l = createClusterLink({
    servers: server.urls,
    stream: `O${testNo}`,
    subjectPrefix: `o${testNo}`,
    replicas: 1,
    retryMinMs: 20,
    retryMaxMs: 200,
    closeTimeoutMs: 2000,
    heartbeatMs: 1000,
    checkIntervalMs: 250,
    // Shorter than any wait below: JetStream has forgotten a message id by the time a batch could be sent again,
    // so only the link's look-up of its last stored batch keeps it from being stored twice.
    duplicateWindowMs: 100,
    ...options,
  });
  open.push(l);
  return l;
}

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'opc-outbox-e2e-'));
  dirs.push(dir);
  return dir;
};

describe('cluster link with an outboxDir', () => {
  it('does not store again a batch stored before the link ended unacknowledged, when the next link starts', async () => {
    testNo++;
    const outboxDir = tempDir();
    const proxy = await startTcpProxy(server.nodes[0]!.clientPort);
    try {
      const seen = recordApplied();
      const consumer = link({ nodeName: 'q', apply: seen.apply });
      consumer.start(0);
      const first = link({
        nodeName: 'p',
        apply: () => undefined,
        servers: [proxy.url],
        connectionOptions: { ignoreClusterUpdates: true },
        publishTimeoutMs: 300,
        closeTimeoutMs: 500,
        outboxDir,
      });
      await vi.waitFor(() => expect(first.state).toBe('connected'), { timeout: 10_000 });
      first.publish('x', 1, 1);
      await vi.waitFor(() => expect(seen.readings).toBe(1), { timeout: 10_000 });

      // The next batch reaches the stream, but neither its acknowledgement nor any answer after it reaches the link.
      proxy.dropReplies = true;
      first.publish('x', 2, 2);
      await vi.waitFor(() => expect(seen.readings).toBe(2), { timeout: 10_000 });
      await vi.waitFor(() => expect(first.stats().publishErrors).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
      await first.close();
      expect(first.stats()).toMatchObject({ publishedBatches: 1, pendingReadings: 1 });

      const logger = memoryLogger();
      const second = link({ nodeName: 'p', apply: () => undefined, outboxDir, logger });
      await vi.waitFor(() => expect(second.stats().pendingReadings).toBe(0), { timeout: 10_000 });
      expect(logger.find('info', /1 readings waiting in .* from before the restart/)).toHaveLength(1);
      expect(second.stats()).toMatchObject({ publishedBatches: 1, duplicateBatches: 1, pendingBytes: 0 });
      second.publish('x', 3, 3);
      await vi.waitFor(() => expect(seen.readings).toBe(3), { timeout: 10_000 });
      expect(seen.values('p')).toEqual([1, 2, 3]);
      expect(seen.batches.map((b) => b.batchSeq)).toEqual([1, 2, 3]);
    } finally {
      await proxy.close();
    }
  });

  it('publishes after a restart the readings it held on disk while no server ran, each once', async () => {
    testNo++;
    const outboxDir = tempDir();
    await server.stop(0);
    try {
      // A close timeout longer than the test's: closing must not wait for a NATS that is away.
      const first = link({ nodeName: 'p', apply: () => undefined, outboxDir, closeTimeoutMs: 600_000 });
      for (let i = 1; i <= 50; i++) expect(first.publish('x', i, i)).toBe(true);
      expect(first.stats().pendingReadings).toBe(50);
      await new Promise((resolve) => setImmediate(resolve));
      expect(first.stats().pendingBytes).toBeGreaterThan(0);
      await first.close();
    } finally {
      await server.restart(0);
    }
    const seen = recordApplied();
    const consumer = link({ nodeName: 'q', apply: seen.apply });
    consumer.start(0);
    const second = link({ nodeName: 'p', apply: () => undefined, outboxDir });
    expect(second.stats().pendingReadings).toBe(50);
    await vi.waitFor(() => expect(seen.readings).toBe(50), { timeout: 20_000 });
    await vi.waitFor(() => expect(second.stats().pendingReadings).toBe(0), { timeout: 10_000 });
    expect(seen.values('p')).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
  });
});
