import type { Reading } from '@opc-lite/protocol';
import blessed from 'blessed';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeScreen, fakeStreams, screenText } from '../testing/screen.js';
import type { FakeScreen } from '../testing/screen.js';
import { createDashboard, formatFigure, tableText } from './dashboard.js';
import type { Dashboard } from './dashboard.js';

const screens: FakeScreen[] = [];
const dashboards: Dashboard[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dashboards.splice(0)) d.destroy();
  for (const s of screens.splice(0)) s.screen.destroy();
});

function mount(options: Parameters<typeof createDashboard>[0] = {}, columns = 110, rows = 32): [Dashboard, FakeScreen] {
  const s = fakeScreen(columns, rows);
  screens.push(s);
  const d = createDashboard({ screen: s.screen, ...options });
  dashboards.push(d);
  return [d, s];
}

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const r = (name: string, seq: number, value: number, timestampMs = T0 + seq * 100): Reading => ({
  name,
  value,
  seq,
  timestampMs,
});

/** The table row of a sensor, split into cells. */
function row(text: string, name: string): string[] | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`│${name} `));
  return line?.replace(/│/g, ' ').trim().split(/\s+/);
}

describe('createDashboard', () => {
  it('shows last, min, max, rate and lost per sensor in the table', () => {
    const [d, s] = mount({ window: 10 });
    [0.1, 0.5, 0.3].forEach((v, i) => d.push(r('ramp', i + 1, v)));
    d.push(r('ramp', 6, 0.2)); // seq 4 and 5 missed
    d.push(r('other', 1, 42));
    d.render();
    const text = s.text();
    expect(row(text, 'ramp')).toEqual(['ramp', '0.2', '0.1', '0.5', '6.0', '2']);
    expect(row(text, 'other')).toEqual(['other', '42', '42', '42', '-', '0']);
    d.push(r('pressure/boiler-left', 1, 1));
    d.render();
    expect(row(s.text(), 'pressure/boiler-left')?.[1]).toBe('1');
    expect(text).toMatch(/sensor +last +min +max +rate\/s +lost/);
    expect(text).toContain('window 10');
  });

  it('shows no time labels before the first reading, and clock times after it', () => {
    const [d, s] = mount();
    /** The screen above the sensor table: the chart. */
    const chart = (): string => s.text().split(' sensors ')[0] ?? '';
    d.render();
    expect(chart()).not.toMatch(/\d:\d|00000/);
    d.push(r('ramp', 1, 1));
    d.push(r('ramp', 2, 2));
    d.render();
    expect(chart()).toMatch(/\d\d:\d\d:\d\d\.\d{3}/);
  });

  it('freezes chart and table while paused, and catches up on resume', () => {
    const [d, s] = mount();
    d.push(r('ramp', 1, 1));
    d.render();
    d.setPaused(true);
    d.push(r('ramp', 2, 7));
    d.render();
    expect(row(s.text(), 'ramp')?.[1]).toBe('1');
    expect(s.text()).toContain('PAUSED');
    d.setPaused(false);
    d.render();
    expect(row(s.text(), 'ramp')?.[1]).toBe('7');
  });

  it('answers p, + and - from the keyboard', async () => {
    const [d, s] = mount({ window: 20 });
    s.type('p');
    await expect.poll(() => d.paused).toBe(true);
    s.type('+');
    await expect.poll(() => d.chart.window).toBe(40);
    s.type('-');
    s.type('-');
    await expect.poll(() => d.chart.window).toBe(10);
  });

  it('quits on q leaving a screen it was given alive, without its widgets', async () => {
    const [d, s] = mount();
    const childrenBefore = s.screen.children.length;
    s.type('q');
    await d.done;
    expect(s.screen.children.length).toBe(childrenBefore - 1);
    expect(() => s.screen.render()).not.toThrow();
  });

  it('destroys the screen it created itself on Ctrl-C', async () => {
    const { input, output } = fakeStreams(100, 30);
    const d = createDashboard({ screenOptions: { input, output, terminal: 'xterm-256color', warnings: false } });
    const destroyed = vi.fn();
    d.screen.on('destroy', destroyed);
    input.write('\x03');
    await d.done;
    expect(destroyed).toHaveBeenCalled();
  });

  it('fills a box of a screen the caller owns', () => {
    const s = fakeScreen(100, 30);
    screens.push(s);
    const side = blessed.box({ parent: s.screen, left: 0, width: 20, height: '100%', content: 'my own panel' });
    const area = blessed.box({ parent: s.screen, left: 20, width: 80, height: '100%' });
    const d = createDashboard({ screen: s.screen, parent: area });
    dashboards.push(d);
    d.push(r('ramp', 1, 1));
    d.render();
    expect(s.text()).toContain('my own panel');
    expect(
      s
        .text()
        .split('\n')
        .some((l) => l.slice(20).startsWith('│ramp ')),
    ).toBe(true);
    expect(s.screen.children).toContain(side);
  });

  it('draws from any async iterable of readings', async () => {
    async function* source(): AsyncGenerator<Reading> {
      for (let i = 1; i <= 3; i += 1) yield await Promise.resolve(r('stream', i, i * 10));
    }
    const [d, s] = mount({ source: source() });
    await expect
      .poll(() => {
        d.render();
        return row(s.text(), 'stream')?.[1];
      })
      .toBe('30');
  });

  it('grows the table as sensors appear and survives a resize', () => {
    const [d, s] = mount({}, 100, 30);
    for (let k = 0; k < 5; k += 1) d.push(r(`s${k}`, 1, k));
    d.render();
    for (let k = 0; k < 5; k += 1) expect(row(s.text(), `s${k}`)).toBeDefined();
    expect(() => {
      s.resize(60, 20);
      d.render();
      s.resize(160, 50);
      d.render();
    }).not.toThrow();
    expect(s.text().split('\n')).toHaveLength(50);
    expect(row(s.text(), 's4')).toBeDefined();
  });

  it('renders at a bounded frame rate however fast readings arrive', () => {
    const [d, s] = mount();
    d.render(); // the first frame, on real timers
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const render = vi.spyOn(s.screen, 'render');
    for (let i = 0; i < 10_000; i += 1) {
      d.push(r('fast', i + 1, i % 100, T0 + i / 10));
      if (i % 10 === 9) vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(100);
    expect(render.mock.calls.length).toBeGreaterThanOrEqual(20);
    expect(render.mock.calls.length).toBeLessThanOrEqual(1000 / 50 + 3);
    const settled = render.mock.calls.length;
    vi.advanceTimersByTime(5000);
    expect(render.mock.calls.length).toBe(settled);
  });
});

describe('tableText', () => {
  it('aligns a header and one row per sensor', () => {
    const text = tableText(
      [
        {
          name: 'ramp',
          color: 'yellow',
          last: 0.35,
          min: 0,
          max: 0.95,
          ratePerSec: 10,
          lost: 3,
          count: 20,
          size: 20,
        },
      ],
      80,
    );
    const [header, line] = text.split('\n');
    expect(header?.split(/\s+/)).toEqual(['sensor', 'last', 'min', 'max', 'rate/s', 'lost']);
    expect(line?.split(/\s+/)).toEqual(['ramp', '0.35', '0', '0.95', '10.0', '3']);
  });

  it('keeps long numbers within their column', () => {
    expect(formatFigure(123456789.123)).toBe('123457000');
    expect(formatFigure(1.23456789e12)).toBe('1.235e+12');
    expect(formatFigure(-1.5e-7)).toBe('-1.5e-7');
    expect(formatFigure(1 / 3)).toBe('0.333333');
    expect(formatFigure(Number.NaN)).toBe('-');
  });
});

it('screenText reads what the screen shows', () => {
  const s = fakeScreen(20, 3);
  screens.push(s);
  blessed.box({ parent: s.screen, content: 'hello' });
  s.screen.render();
  expect(screenText(s.screen).split('\n')[0]).toMatch(/^hello/);
});
