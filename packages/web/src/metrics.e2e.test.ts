import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { STAT_METRICS } from './metrics.js';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

/** `promtool check metrics` on `text`: its exit code and what it said; undefined when promtool is not installed. */
function promtool(text: string): { status: number | null; output: string } | undefined {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const hasPromtool = promtool('') !== undefined;
if (!hasPromtool && process.env.CI === undefined) {
  console.warn('promtool is not installed: the /metrics lint test is skipped (apt-get install prometheus)');
}

/** Sends `commands` on one TCP connection and resolves once `lines` reply lines have come. */
function tcp(port: number, commands: string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(commands));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const got = text.split('\n').slice(0, -1);
      if (got.length >= lines) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', reject);
  });
}

/** The value of one sample line (`name{labels} value`) in an exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics (docs/HTTP.md)', () => {
  it('maps every STATS key to a metric named by Prometheus conventions', async () => {
    const { server } = await fixture.start({ server: { storage: { dir: fixture.tempDir() } } });
    const mapped = new Set<string>(STAT_METRICS.map((m) => m.key));
    const keys = Object.keys(server.stats());
    const unmapped = keys.filter((k) => !mapped.has(k) && k !== 'readings_rejected' && !k.startsWith('rejected_'));
    expect(unmapped).toEqual([]);
    for (const m of STAT_METRICS) {
      expect(m.name).toMatch(/^opc_[a-z0-9_]+$/);
      expect(m.name.endsWith('_total')).toBe(m.kind === 'counter');
      expect(m.name).not.toMatch(/_ms(_|$)/);
    }
  });

  it('reports the server counters in base units, rejects by reason', async () => {
    const { base, udpPort, server } = await fixture.start();
    await fixture.udp(udpPort, 'ramp 1\nramp nan\nhits:1|c\nsaw:2|g');
    await expect.poll(() => server.stats().readings_rejected).toBe(2);
    const answer = await fixture.request(`${base}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = answer.text;
    expect(text).toContain('# HELP opc_readings_accepted_total Readings stored (duplicates excluded).');
    expect(text).toContain('# TYPE opc_readings_accepted_total counter');
    expect(sample(text, 'opc_readings_accepted_total')).toBe(2);
    expect(sample(text, 'opc_udp_datagrams_received_total')).toBe(1);
    expect(sample(text, 'opc_readings_rejected_total{reason="bad-number"}')).toBe(1);
    expect(sample(text, 'opc_readings_rejected_total{reason="unsupported-type"}')).toBe(1);
    expect(sample(text, 'opc_readings_rejected_total{reason="bad-name"}')).toBe(0);
    expect(sample(text, 'opc_sensors')).toBe(2);
    const uptime = sample(text, 'opc_uptime_seconds')!;
    expect(uptime).toBeGreaterThan(0);
    expect(uptime).toBeLessThan(server.stats().uptime_ms); // seconds, not milliseconds
    expect(text).not.toContain('opc_sensor_value');
  });

  it('times HTTP requests by route, method and status in a histogram', async () => {
    const { base } = await fixture.start();
    await fixture.request(`${base}/api/sensors`);
    await fixture.request(`${base}/api/sensors/nope`);
    await fixture.request(`${base}/no/such/path`);
    const text = (await fixture.request(`${base}/metrics`)).text;
    expect(text).toContain('# TYPE opc_http_request_duration_seconds histogram');
    const count = (labels: string): number | undefined =>
      sample(text, `opc_http_request_duration_seconds_count{${labels}}`);
    expect(count('method="GET",route="/api/sensors",code="200"')).toBe(1);
    expect(count('method="GET",route="/api/sensors/:name",code="404"')).toBe(1);
    expect(count('method="GET",route="other",code="404"')).toBe(1);
  });

  it('times TCP commands by verb in a histogram whose buckets add up to the commands answered', async () => {
    const { base, server } = await fixture.start();
    const address = server.address()!;
    await tcp(address.port, 'PING\nPING\nLIST\nFOO\n', 4);
    const text = (await fixture.request(`${base}/metrics`)).text;
    expect(text).toContain('# TYPE opc_tcp_command_duration_seconds histogram');
    const count = (verb: string): number | undefined =>
      sample(text, `opc_tcp_command_duration_seconds_count{verb="${verb}"}`);
    expect([count('ping'), count('list'), count('invalid'), count('range')]).toEqual([2, 1, 1, undefined]);
    const buckets = text
      .split('\n')
      .filter((l) => l.startsWith('opc_tcp_command_duration_seconds_bucket{') && l.includes('verb="ping"'))
      .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    expect(buckets).toHaveLength(19);
    expect(buckets.at(-1)).toBe(2); // +Inf holds every command
    expect(buckets.every((n, i) => i === 0 || n >= buckets[i - 1]!)).toBe(true); // cumulative
    expect(sample(text, 'opc_tcp_command_duration_seconds_sum{verb="ping"}')).toBeGreaterThan(0);
  });

  it('exports the latest value of the sensors matching metricsSensors, at most metricsSensorsMax', async () => {
    let now = 1_000_000;
    const { base, udpPort, server } = await fixture.start({
      web: { metricsSensors: 'plant1/*', metricsSensorsMax: 2, metricsSensorsStaleMs: 60_000, now: () => now },
    });
    await fixture.udp(udpPort, 'plant1/a 1.5\nplant1/b -2\nplant1/c 3\nother 4');
    await expect.poll(() => server.store.size).toBe(4);
    let text = (await fixture.request(`${base}/metrics`)).text;
    expect(sample(text, 'opc_sensor_value{sensor="plant1/a"}')).toBe(1.5);
    expect(sample(text, 'opc_sensor_value{sensor="plant1/b"}')).toBe(-2);
    expect(text).not.toContain('sensor="plant1/c"');
    expect(text).not.toContain('sensor="other"');
    expect(sample(text, 'opc_sensor_series_limited')).toBe(1);
    // A minute later only plant1/b has read again: the others drop out, and plant1/c no longer waits for room.
    now += 61_000;
    await fixture.udp(udpPort, 'plant1/b 5');
    await expect.poll(() => server.store.get('plant1/b')?.lastValue).toBe(5);
    text = (await fixture.request(`${base}/metrics`)).text;
    expect(text.split('\n').filter((l) => l.startsWith('opc_sensor_value{'))).toEqual([
      'opc_sensor_value{sensor="plant1/b"} 5',
    ]);
    expect(sample(text, 'opc_sensor_series_limited')).toBe(0);
  });

  it.skipIf(!hasPromtool && process.env.CI === undefined)(
    'passes promtool check metrics, process metrics and sensor values included',
    async () => {
      const { base, udpPort, server } = await fixture.start({
        server: { storage: { dir: fixture.tempDir() } },
        web: { processMetrics: true, metricsSensors: '*' },
      });
      await fixture.udp(udpPort, 'ramp 1\nbad line here x y');
      await expect.poll(() => server.store.size).toBe(1);
      await fixture.request(`${base}/api/sensors`);
      await tcp(server.address()!.port, 'n\nPING\n', 2);
      const text = (await fixture.request(`${base}/metrics`)).text;
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('opc_tcp_command_duration_seconds_bucket{le="+Inf",verb="ping"} 1');
      expect(text).toContain('opc_sensor_value{sensor="ramp"} 1');
      const check = promtool(text);
      expect(check, 'promtool is required on CI (apt-get install prometheus)').toBeDefined();
      expect(check).toEqual({ status: 0, output: '' });
    },
  );
});
