import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../client.js';
import type { OpcClient } from '../client.js';
import { cleanup, defer, startServer } from '../testing/fixtures.js';
import { fakeScreen } from '../testing/screen.js';
import type { FakeScreen } from '../testing/screen.js';
import { createDashboard } from './dashboard.js';
import type { Dashboard, DashboardOptions } from './dashboard.js';

afterEach(cleanup);

async function open(
  port: number,
  options: Omit<DashboardOptions, 'client' | 'screen'>,
): Promise<[Dashboard, FakeScreen, OpcClient]> {
  const client = await connect({ port, reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
  defer(() => client.close());
  const s = fakeScreen(110, 32);
  defer(() => s.screen.destroy());
  const d = createDashboard({ client, screen: s.screen, ...options });
  defer(() => d.destroy());
  return [d, s, client];
}

/** Renders now and returns the table row of a sensor as cells. */
function row(d: Dashboard, s: FakeScreen, name: string): string[] | undefined {
  d.render();
  const line = s
    .text()
    .split('\n')
    .find((l) => l.startsWith(`│${name} `));
  return line?.replace(/│/g, ' ').trim().split(/\s+/);
}

describe('dashboard fed by a client', () => {
  it('subscribes, fills the chart from the backlog, then follows live readings', async () => {
    const t = await startServer();
    await t.send(['ramp 0.1', 'ramp 0.2', 'ramp 0.3']);
    await expect.poll(() => t.server.store.get('ramp')?.count).toBe(3);
    const [d, s] = await open(t.port, { mode: 'subscribe', pattern: 'ramp*', yMin: 0, yMax: 1 });
    await expect.poll(() => row(d, s, 'ramp')?.slice(0, 4)).toEqual(['ramp', '0.3', '0.1', '0.3']);
    await t.send('ramp 0.9');
    await expect.poll(() => row(d, s, 'ramp')?.slice(0, 4)).toEqual(['ramp', '0.9', '0.1', '0.9']);
    expect(s.text()).toContain(`127.0.0.1:${t.port}`);
    expect(s.text()).toContain('subscribe ramp*');
    expect(s.text()).toContain('connected');
  });

  it('subscribes to several patterns with the backlog asked for', async () => {
    const t = await startServer();
    await t.send(['a 1', 'a 2', 'a 3', 'b 7', 'c 9']);
    await expect.poll(() => t.server.store.size).toBe(3);
    const [d, s] = await open(t.port, { mode: 'subscribe', patterns: ['a', 'b'], backlog: 2 });
    await expect.poll(() => row(d, s, 'b')?.[1]).toBe('7');
    await expect.poll(() => d.chart.stats().find((x) => x.name === 'a')?.count).toBe(2);
    expect(row(d, s, 'c')).toBeUndefined();
    expect(s.text()).toContain('subscribe a b');
  });

  it('polls the legacy way every interval, as the original lector', async () => {
    const t = await startServer();
    await t.send('0.5');
    await expect.poll(() => t.server.store.get('default')?.count).toBe(1);
    const [d, s] = await open(t.port, { mode: 'poll', intervalMs: 20 });
    await expect.poll(() => row(d, s, 'default')?.[1]).toBe('0.5');
    await t.send('0.75');
    await expect.poll(() => row(d, s, 'default')?.[1]).toBe('0.75');
    expect(s.text()).toContain('poll n every 0.02s');
    expect(row(d, s, 'default')?.[5]).toBe('-');
  });

  it('polls named sensors with GET and skips a reading seen before', async () => {
    const t = await startServer();
    await t.send(['a 1', 'b 2']);
    await expect.poll(() => t.server.store.size).toBe(2);
    const [d, s] = await open(t.port, { mode: 'poll', sensors: ['a', 'b'], intervalMs: 10 });
    await expect.poll(() => row(d, s, 'b')?.[1]).toBe('2');
    await expect.poll(() => t.server.stats().commands).toBeGreaterThan(10);
    expect(d.chart.stats().map((x) => x.count)).toEqual([1, 1]);
  });

  it('shows reconnecting while the server is away and carries on after it returns', async () => {
    const first = await startServer();
    const [d, s, client] = await open(first.port, { mode: 'subscribe', pattern: '*' });
    await expect.poll(() => first.server.hub.subscriptionCount).toBe(1);
    await first.server.close();
    await expect
      .poll(() => {
        d.render();
        return s.text();
      })
      .toMatch(/reconnecting|connecting/);
    const second = await startServer({ port: first.port });
    await expect.poll(() => client.state).toBe('connected');
    await expect.poll(() => second.server.hub.subscriptionCount).toBe(1);
    await second.send('late 3');
    await expect.poll(() => row(d, s, 'late')?.[1]).toBe('3');
  });
});
