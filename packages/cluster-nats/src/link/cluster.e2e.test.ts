// Three real nats-server processes in one JetStream cluster on loopback,
// shared by the tests of this file; each test has its own stream and subjects.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeBatch } from '../codec/batch.js';
import { startNatsCluster, type NatsCluster } from '../testing/nats-cluster.js';
import { memoryLogger, recordApplied, type ApplyRecorder } from '../testing/recorders.js';
import { startTcpProxy } from '../testing/tcp-proxy.js';
import { createClusterLink, type ClusterLink } from './link.js';
import type { ClusterLinkOptions } from './options.js';

let cluster: NatsCluster;
let testNo = 0;
let open: ClusterLink[] = [];
let admin: NatsConnection | undefined;

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 3 });
});

afterEach(async () => {
  await Promise.all(open.map((l) => l.close()));
  open = [];
  await admin?.close();
  admin = undefined;
});

afterAll(async () => {
  await cluster?.close();
});

/** Options for a link of this test: its own stream and subject prefix, quick retries and checks. */
function linkOptions(): Partial<ClusterLinkOptions> {
  return {
    stream: `T${testNo}`,
    subjectPrefix: `t${testNo}.readings`,
    retryMinMs: 20,
    retryMaxMs: 500,
    closeTimeoutMs: 2000,
    heartbeatMs: 1000,
    checkIntervalMs: 250,
  };
}

function link(options: Partial<ClusterLinkOptions> & Pick<ClusterLinkOptions, 'nodeName' | 'apply'>): ClusterLink {
  const l = createClusterLink({ servers: cluster.urls, ...linkOptions(), ...options });
  open.push(l);
  return l;
}

async function adminConnection(): Promise<NatsConnection> {
  admin ??= await connect({ servers: cluster.urls });
  return admin;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Publishes `total` readings with values 0, 1, 2, ... from `l`, a few per turn and never more than `window`
 * pending, so publishing goes on for as long as the cluster takes to store them. Runs `marks.get(n)` once `n`
 * readings have been published. Bounded by the count and by `deadlineMs`.
 */
async function publishPaced(
  l: ClusterLink,
  total: number,
  options: { perTurn?: number; window?: number; deadlineMs?: number; marks?: Map<number, () => Promise<void>> } = {},
): Promise<void> {
  const { perTurn = 20, window = 200, deadlineMs = 30_000 } = options;
  const marks = options.marks ?? new Map<number, () => Promise<void>>();
  const deadline = Date.now() + deadlineMs;
  let next = 0;
  while (next < total && Date.now() < deadline) {
    for (let k = 0; k < perTurn && next < total; k++) {
      expect(l.publish('paced', next, 1_764_316_800_000 + next, next)).toBe(true);
      next++;
      const mark = marks.get(next);
      if (mark !== undefined) await mark();
    }
    await vi.waitFor(() => expect(l.stats().pendingReadings).toBeLessThan(window), {
      timeout: Math.max(1, deadline - Date.now()),
      interval: 2,
    });
  }
  expect(next).toBe(total);
}

/** Every recorder saw the same batches in the same order, each stream seq once and without a hole. */
function expectSameOrder(recorders: ApplyRecorder[], batches: number): void {
  const first = recorders[0]?.order() ?? [];
  expect(first).toHaveLength(batches);
  for (const r of recorders) expect(r.order()).toEqual(first);
  expect(recorders[0]?.batches.map((b) => b.streamSeq)).toEqual(Array.from({ length: batches }, (_, i) => i + 1));
  const ids = recorders[0]?.batches.map((b) => `${b.origin}:${b.batchSeq}`) ?? [];
  expect(new Set(ids).size).toBe(ids.length);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('cluster link on a three-server JetStream cluster', () => {
  beforeEach(() => {
    testNo++;
  });

  it('applies the interleaved batches of two publishing nodes in the same order on every node', async () => {
    const seen = [recordApplied(), recordApplied(), recordApplied()];
    // Each link talks to a different server.
    const a = link({ nodeName: 'a', apply: seen[0]!.apply, servers: [cluster.urls[0]!] });
    const b = link({ nodeName: 'b', apply: seen[1]!.apply, servers: [cluster.urls[1]!] });
    const c = link({ nodeName: 'c', apply: seen[2]!.apply, servers: [cluster.urls[2]!] });
    for (const l of [a, b, c]) l.start(0);
    await vi.waitFor(() => expect([a.state, b.state, c.state]).toEqual(['connected', 'connected', 'connected']), {
      timeout: 10_000,
    });

    for (let t = 0; t < 60; t++) {
      for (let k = 0; k < 5; k++) {
        a.publish('a.temp', t * 5 + k, 1000 + t);
        b.publish('b.temp', t * 5 + k, 1000 + t, t * 5 + k);
      }
      await turn();
    }
    await vi.waitFor(() => expect(seen.map((s) => s.readings)).toEqual([600, 600, 600]), { timeout: 10_000 });

    const batches = a.stats().publishedBatches + b.stats().publishedBatches;
    expect(a.stats().publishedBatches).toBeGreaterThan(1);
    expectSameOrder(seen, batches);
    // Each origin's batches come in its own order, none missing, and so do its readings.
    for (const origin of ['a', 'b']) {
      const own = seen[2]!.batches.filter((x) => x.origin === origin).map((x) => x.batchSeq);
      expect(own).toEqual(Array.from({ length: own.length }, (_, i) => (own[0] ?? 0) + i));
      expect(seen[2]!.values(origin)).toEqual(range(300));
    }
    expect(c.stats()).toMatchObject({ appliedBatches: batches, appliedReadings: 600, streamLag: 0, dropped: 0 });
  });

  it('stores a batch once when its acknowledgement is lost and it is sent again after a reconnect, past the duplicate window', async () => {
    const proxy = await startTcpProxy(cluster.nodes[0]!.clientPort);
    try {
      const seen = recordApplied();
      const publisher = link({
        nodeName: 'p',
        apply: () => undefined,
        servers: [proxy.url],
        connectionOptions: { ignoreClusterUpdates: true },
        publishTimeoutMs: 300,
        // Shorter than the publish timeout: JetStream has forgotten the message id by the time the batch is sent
        // again, so only the link's look-up of its last stored batch keeps it from being stored twice.
        duplicateWindowMs: 100,
      });
      const consumer = link({ nodeName: 'q', apply: seen.apply, duplicateWindowMs: 100 });
      consumer.start(0);
      await vi.waitFor(() => expect(publisher.state).toBe('connected'), { timeout: 10_000 });
      publisher.publish('x', 1, 1);
      await vi.waitFor(() => expect(seen.readings).toBe(1), { timeout: 10_000 });

      // The next batch reaches the server, but its acknowledgement does not reach the publisher.
      proxy.dropReplies = true;
      publisher.publish('x', 2, 2);
      await vi.waitFor(() => expect(seen.readings).toBe(2), { timeout: 10_000 });
      await vi.waitFor(() => expect(publisher.stats().publishErrors).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
      expect(publisher.stats().publishedBatches).toBe(1);
      proxy.cut();

      await vi.waitFor(() => expect(publisher.stats().pendingReadings).toBe(0), { timeout: 10_000 });
      publisher.publish('x', 3, 3);
      await vi.waitFor(() => expect(seen.readings).toBe(3), { timeout: 10_000 });
      expect(proxy.accepted).toBeGreaterThanOrEqual(2);
      expect(publisher.stats()).toMatchObject({ publishedBatches: 3, duplicateBatches: 1 });
      expect(publisher.stats().retries).toBeGreaterThanOrEqual(1);
      expect(seen.values('p')).toEqual([1, 2, 3]);
      expect(seen.batches.map((b) => b.batchSeq)).toEqual([1, 2, 3]);
    } finally {
      await proxy.close();
    }
  });

  it('has JetStream drop a batch published again with the same message id within the duplicate window', async () => {
    const seen = recordApplied();
    const consumer = link({ nodeName: 'q', apply: seen.apply });
    consumer.start(0);
    await vi.waitFor(() => expect(consumer.state).toBe('connected'), { timeout: 10_000 });
    const js = jetstream(await adminConnection());
    const bytes = encodeBatch('r', 1, [{ name: 'x', value: 7, timestampMs: 1, senderSeq: -1 }]);
    const first = await js.publish(`t${testNo}.readings.r`, bytes, { msgID: 'r:1' });
    const again = await js.publish(`t${testNo}.readings.r`, bytes, { msgID: 'r:1' });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
    await js.publish(`t${testNo}.readings.r`, encodeBatch('r', 2, []), { msgID: 'r:2' });
    await vi.waitFor(() => expect(consumer.stats().lastAppliedSeq).toBe(2), { timeout: 10_000 });
    expect(seen.order()).toEqual(['1:r:1', '2:r:2']);
  });

  it('loses nothing and keeps publishing when the stream leader’s server is killed with SIGKILL', async () => {
    const seen = recordApplied();
    const publisher = link({ nodeName: 'p', apply: () => undefined, publishTimeoutMs: 1000 });
    const consumer = link({ nodeName: 'q', apply: seen.apply });
    consumer.start(0);
    await vi.waitFor(() => expect(publisher.state).toBe('connected'), { timeout: 10_000 });
    const jsm = await jetstreamManager(await adminConnection());
    let killed = -1;
    let publishedAtKill = 0;
    const total = 6000;
    await publishPaced(publisher, total, {
      marks: new Map([
        [
          2000,
          async () => {
            const leader = (await jsm.streams.info(`T${testNo}`)).cluster?.leader;
            killed = cluster.nodes.findIndex((n) => n.name === leader);
            expect(killed).toBeGreaterThanOrEqual(0);
            publishedAtKill = publisher.stats().publishedReadings;
            await cluster.kill(killed);
          },
        ],
      ]),
    });
    try {
      await vi.waitFor(() => expect(seen.readings).toBe(total), { timeout: 30_000 });
      expect(publisher.stats().publishedReadings).toBe(total);
      expect(publishedAtKill).toBeLessThan(total);
      expect(seen.values('p')).toEqual(range(total));
      expect(seen.batches.map((b) => b.streamSeq)).toEqual(range(seen.batches.length).map((i) => i + 1));
      expect(new Set(seen.batches.map((b) => b.batchSeq)).size).toBe(seen.batches.length);
    } finally {
      await cluster.restart(killed);
      await cluster.waitForJetStream();
    }
  }, 60_000);

  it('holds readings in the outbox while every server is down, then stores each batch once, in the same order everywhere', async () => {
    const seen = [recordApplied(), recordApplied(), recordApplied()];
    const logger = memoryLogger();
    const publisher = link({
      nodeName: 'p',
      apply: seen[0]!.apply,
      publishTimeoutMs: 500,
      maxPendingReadings: 5000,
      logger,
    });
    const other = link({ nodeName: 'o', apply: seen[1]!.apply });
    const consumer = link({ nodeName: 'q', apply: seen[2]!.apply });
    for (const l of [publisher, other, consumer]) l.start(0);
    await vi.waitFor(() => expect([publisher.state, other.state]).toEqual(['connected', 'connected']), {
      timeout: 10_000,
    });
    for (let i = 0; i < 500; i++) {
      publisher.publish('before', i, i);
      other.publish('other', i, i);
      if (i % 50 === 49) await turn();
    }
    await vi.waitFor(() => expect(seen.map((s) => s.readings)).toEqual([1000, 1000, 1000]), { timeout: 10_000 });

    await Promise.all([0, 1, 2].map((i) => cluster.stop(i)));
    try {
      await vi.waitFor(() => expect(publisher.state).toBe('disconnected'), { timeout: 10_000 });
      const errors = publisher.stats().publishErrors;
      for (let i = 500; i < 3000; i++) {
        expect(publisher.publish('during', i, i)).toBe(true);
        if (i % 100 === 99) await turn();
      }
      // A publish has been tried and failed while no server ran.
      await vi.waitFor(() => expect(publisher.stats().publishErrors).toBeGreaterThan(errors), { timeout: 10_000 });
      expect(publisher.stats().pendingReadings).toBe(2500);
    } finally {
      await Promise.all([0, 1, 2].map((i) => cluster.restart(i)));
    }
    // Three servers started at once elect a JetStream leader afresh: on a loaded machine that has taken over 15 s.
    await cluster.waitForJetStream(45_000);
    await vi.waitFor(() => expect(seen.map((s) => s.readings)).toEqual([3500, 3500, 3500]), { timeout: 30_000 });

    expect(publisher.stats()).toMatchObject({ pendingReadings: 0, publishedReadings: 3000, dropped: 0 });
    expectSameOrder(seen, publisher.stats().publishedBatches + other.stats().publishedBatches);
    expect(seen[2]!.values('p')).toEqual(range(3000));
    expect(logger.find('warn', /publish failed/).length).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
