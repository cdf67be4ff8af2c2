import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveOptions, silentLogger, type ClusterLinkOptions } from './options.js';

const base: ClusterLinkOptions = { servers: 'nats://127.0.0.1:4222', nodeName: 'hub-1', apply: () => undefined };

describe('link options', () => {
  it('fills in every default and takes one server URL or several', () => {
    const resolved = resolveOptions(base);
    expect(resolved).toMatchObject({ ...DEFAULTS, servers: ['nats://127.0.0.1:4222'], nodeName: 'hub-1' });
    expect(resolved.logger).toBe(silentLogger);
    expect(resolveOptions({ ...base, servers: ['nats://a:1', 'nats://b:2'] }).servers).toEqual([
      'nats://a:1',
      'nats://b:2',
    ]);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
  });

  it('treats an option given as undefined as not given', () => {
    expect(resolveOptions({ ...base, replicas: undefined } as unknown as ClusterLinkOptions).replicas).toBe(3);
  });

  it('refuses each invalid option with an error that names it', () => {
    const cases: Array<[Partial<ClusterLinkOptions> | Record<string, unknown>, RegExp, ErrorConstructor]> = [
      [{ servers: [] }, /servers must be a URL or a non-empty array/, TypeError],
      [{ nodeName: 'a.b' }, /nodeName must be 1 to 64 bytes/, RangeError],
      [{ nodeName: '' }, /nodeName/, RangeError],
      [{ apply: 42 }, /apply must be a function/, TypeError],
      [{ onHalt: 'x' }, /onHalt must be a function/, TypeError],
      [{ stream: 'a b' }, /stream must be 1 to 64 bytes/, RangeError],
      [{ subjectPrefix: 'opc.*' }, /subjectPrefix must be dot-separated tokens/, RangeError],
      [{ subjectPrefix: 'opc..x' }, /subjectPrefix/, RangeError],
      [{ replicas: 0 }, /replicas must be an integer from 1 to 5, got 0/, RangeError],
      [{ replicas: 6 }, /replicas/, RangeError],
      [{ replicas: '3' }, /replicas must be a number/, TypeError],
      [{ maxPendingReadings: 0 }, /maxPendingReadings/, RangeError],
      [{ maxBatchReadings: 1.5 }, /maxBatchReadings/, RangeError],
      [{ maxBatchBytes: 100 }, /maxBatchBytes/, RangeError],
      [{ maxAgeMs: 10 }, /maxAgeMs/, RangeError],
      [{ maxStreamBytes: -1 }, /maxStreamBytes/, RangeError],
      [
        { duplicateWindowMs: 2000, maxAgeMs: 1000 },
        /duplicateWindowMs must be an integer from 100 to 1000/,
        RangeError,
      ],
      [{ retryMinMs: 100, retryMaxMs: 50 }, /retryMaxMs must be an integer from 100/, RangeError],
      [{ heartbeatMs: 100 }, /heartbeatMs/, RangeError],
      [{ publishTimeoutMs: 0 }, /publishTimeoutMs/, RangeError],
      [{ checkIntervalMs: 0 }, /checkIntervalMs/, RangeError],
      [{ closeTimeoutMs: -1 }, /closeTimeoutMs/, RangeError],
      [{ maxOutboxBytes: 1000 }, /maxOutboxBytes must be an integer from 1048576/, RangeError],
      [{ outboxFsync: 'sometimes' }, /outboxFsync must be 'always', 'interval' or 'off'/, RangeError],
      [{ outboxFsyncIntervalMs: 0 }, /outboxFsyncIntervalMs/, RangeError],
      [{ outboxDir: '' }, /outboxDir must be a non-empty string/, TypeError],
      [{ signal: {} }, /signal must be an AbortSignal/, TypeError],
      [{ connectionOptions: 'tls' }, /connectionOptions must be an object/, TypeError],
      [{ replica: 3 }, /unknown option "replica"/, TypeError],
    ];
    for (const [patch, message, type] of cases) {
      const attempt = (): unknown => resolveOptions({ ...base, ...patch });
      expect(attempt, String(message)).toThrow(message);
      expect(attempt).toThrow(type);
    }
  });
});
