import { createOpcServer, type OpcServer } from '@opc-lite/opc-server';
import { connect, type OpcClient } from '@opc-lite/reader-client';
import { afterEach, describe, expect, it } from 'vitest';
import { formatBucketCsv, formatBucketPlain, runRange, type RangeArgs } from './range.js';

const NOW = 1_764_316_800_000;
let server: OpcServer | undefined;
let client: OpcClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function start(maxRangeReply = 100_000): Promise<{ server: OpcServer; client: OpcClient }> {
  server = createOpcServer({ host: '127.0.0.1', port: 0, now: () => NOW, maxRangeReply, idleTimeoutMs: 0 });
  const { tcpPort } = await server.listen();
  client = await connect({ port: tcpPort });
  return { server, client };
}

function put(s: OpcServer, name: string, value: number, timestampMs: number): void {
  s.store.ingest(name, value, timestampMs, -1);
}

async function print(c: OpcClient, range: RangeArgs, options: { sensors?: string[]; csv?: boolean; count?: number }) {
  let out = '';
  await runRange(
    c,
    {
      range,
      sensors: options.sensors ?? [],
      csv: options.csv ?? false,
      count: options.count,
      signal: new AbortController().signal,
    },
    (text) => {
      out += text;
    },
  );
  return out;
}

const lastMinutes = (n: number): RangeArgs => ({
  from: { kind: 'ago', amount: n, unit: 'm' },
  to: { kind: 'now' },
  points: undefined,
});

describe('formatBucketPlain and formatBucketCsv', () => {
  it('write start, sensor, count, min, max, mean, first and last', () => {
    const b = { name: 'ramp', startMs: 0, count: 2, min: 1, max: 3, mean: 2, first: 1, last: 3 };
    expect(formatBucketPlain(b)).toBe('1970-01-01T00:00:00.000Z ramp 2 1 3 2 1 3\n');
    expect(formatBucketCsv(b)).toBe('1970-01-01T00:00:00.000Z,ramp,2,1,3,2,1,3\n');
  });
});

describe('runRange', () => {
  it('prints every reading of the span once, following the cuts of the server', async () => {
    const { server: s, client: c } = await start(2);
    for (let i = 0; i < 5; i++) put(s, 'ramp', i, NOW - 60_000 * (4 - i));
    put(s, 'other', 9, NOW);
    const out = await print(c, lastMinutes(3), { sensors: ['ramp'] });
    expect(out.split('\n').filter(Boolean)).toEqual([
      `${new Date(NOW - 180_000).toISOString()} ramp 1 2`,
      `${new Date(NOW - 120_000).toISOString()} ramp 2 3`,
      `${new Date(NOW - 60_000).toISOString()} ramp 3 4`,
      `${new Date(NOW).toISOString()} ramp 4 5`,
    ]);
  });

  it('prints CSV with its header, the default sensor when none is named, and stops at count', async () => {
    const { server: s, client: c } = await start();
    for (let i = 0; i < 3; i++) put(s, 'default', i / 10, NOW - i);
    expect(await print(c, lastMinutes(1), { csv: true, count: 2 })).toBe(
      `time,sensor,value,seq\n${new Date(NOW - 2).toISOString()},default,0.2,3\n${new Date(NOW - 1).toISOString()},default,0.1,2\n`,
    );
  });

  it('prints buckets with --points, for each sensor in turn', async () => {
    const { server: s, client: c } = await start();
    put(s, 'a', 1, NOW - 50_000);
    put(s, 'a', 3, NOW - 40_000);
    put(s, 'b', 7, NOW - 10_000);
    const out = await print(c, { ...lastMinutes(1), points: 2 }, { sensors: ['a', 'b'], csv: true });
    expect(out).toBe(
      'start,sensor,count,min,max,mean,first,last\n' +
        `${new Date(NOW - 60_000).toISOString()},a,2,1,3,2,1,3\n` +
        `${new Date(NOW - 30_000).toISOString()},b,1,7,7,7,7,7\n`,
    );
  });

  it('rejects with the server refusal for an unknown sensor', async () => {
    const { client: c } = await start();
    await expect(print(c, lastMinutes(1), { sensors: ['nope'] })).rejects.toMatchObject({ code: 'not-found' });
  });
});
