import type { ServerInfo } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { chooseReplicas, clusterSize, streamConfig, streamDiff } from './stream.js';

const spec = {
  stream: 'OPC',
  subjectPrefix: 'opc.readings',
  maxAgeMs: 3_600_000,
  maxStreamBytes: 0,
  duplicateWindowMs: 120_000,
};

describe('stream configuration', () => {
  it('holds every node subject, by limits, with the duplicate window and age in nanoseconds', () => {
    expect(streamConfig(spec, 3)).toMatchObject({
      name: 'OPC',
      subjects: ['opc.readings.*'],
      retention: 'limits',
      storage: 'file',
      num_replicas: 3,
      max_age: 3_600_000_000_000,
      max_bytes: -1,
      discard: 'old',
      duplicate_window: 120_000_000_000,
      deny_delete: true,
    });
    expect(streamConfig({ ...spec, maxStreamBytes: 1 << 30 }, 1).max_bytes).toBe(1 << 30);
  });

  it('names the fields an existing stream differs in', () => {
    const wanted = streamConfig(spec, 3);
    expect(streamDiff(wanted, wanted)).toEqual([]);
    expect(streamDiff({ ...wanted, num_replicas: 1, max_age: 1 }, wanted)).toEqual(['num_replicas', 'max_age']);
  });

  it('reads the cluster size from the server info', () => {
    const info = (patch: Partial<ServerInfo>): ServerInfo => ({ max_payload: 1 << 20, ...patch }) as ServerInfo;
    expect(clusterSize(info({}))).toBe(1);
    expect(clusterSize(info({ cluster: 'c', connect_urls: ['a:1', 'b:1', 'c:1', 'a:1'] }))).toBe(3);
    expect(clusterSize(info({ cluster: 'c', connect_urls: [] }))).toBeUndefined();
    expect(clusterSize(undefined)).toBeUndefined();
  });

  it('clamps replicas to the cluster, but never below what an existing stream has', () => {
    expect(chooseReplicas(3, 3, undefined)).toEqual({ replicas: 3, clamped: false });
    expect(chooseReplicas(3, undefined, undefined)).toEqual({ replicas: 3, clamped: false });
    expect(chooseReplicas(3, 1, undefined)).toEqual({ replicas: 1, clamped: true });
    // Three servers, one down: an R3 stream stays R3.
    expect(chooseReplicas(3, 2, 3)).toEqual({ replicas: 3, clamped: true });
    expect(chooseReplicas(5, 2, 3)).toEqual({ replicas: 3, clamped: true });
  });
});
