import contrib from 'blessed-contrib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeScreen } from '../testing/screen.js';
import type { FakeScreen } from '../testing/screen.js';
import { createChart } from './chart.js';

const screens: FakeScreen[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const s of screens.splice(0)) s.screen.destroy();
});

function mount(columns = 100, rows = 30): FakeScreen {
  const s = fakeScreen(columns, rows);
  screens.push(s);
  return s;
}

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const BRAILLE = /[\u2801-\u28ff]/;

/** A y-axis label: the text, then the axis (a braille column) right after it. */
const yLabel = (label: string): RegExp => new RegExp(`[│ ]${label.replace('.', '\\.')} *[\u2801-\u28ff]`);

/** Columns of the plot area that hold line dots, excluding the axes (the first dotted column and the last dotted row). */
function dottedColumns(text: string): number[] {
  const rows = text.split('\n');
  const axisRow = rows.findLastIndex((r) => BRAILLE.test(r));
  const axisCol = Math.min(
    ...rows
      .slice(0, axisRow)
      .map((r) => r.search(BRAILLE))
      .filter((i) => i >= 0),
  );
  const cols = new Set<number>();
  rows.slice(0, axisRow).forEach((r) => {
    [...r].forEach((ch, i) => {
      if (i > axisCol && BRAILLE.test(ch)) cols.add(i);
    });
  });
  return [...cols].sort((a, b) => a - b);
}

function longestRun(cols: number[]): number {
  let longest = 0;
  for (let i = 1; i < cols.length; i += 1) longest = Math.max(longest, (cols[i] ?? 0) - (cols[i - 1] ?? 0) - 1);
  return longest;
}

describe('createChart', () => {
  it('draws the series with its name in the legend, the fixed y labels and time labels', () => {
    const s = mount();
    const chart = createChart({ parent: s.screen, yMin: 0, yMax: 1, label: ' sawtooth ' });
    for (let i = 0; i < 20; i += 1) chart.push('ramp', { value: (i % 10) / 10, timestampMs: T0 + i * 100, seq: i + 1 });
    chart.render();
    const text = s.text();
    expect(text).toContain('sawtooth');
    expect(text).toContain('ramp');
    for (const label of ['0', '0.20', '0.40', '0.60', '0.80', '1.00']) expect(text).toMatch(yLabel(label));
    expect(text).toMatch(/\d\d:\d\d:\d\d\.\d{3}/);
    expect(text).toMatch(BRAILLE);
  });

  it('shows a blank time axis and no line before the first reading, and after clear', () => {
    /** The rows under the x axis (the last row with braille dots), inside the border. */
    const xLabelRows = (text: string): string[] => {
      const rows = text.split('\n');
      const axisRow = rows.findLastIndex((r) => BRAILLE.test(r));
      return rows.slice(axisRow + 1, -1).map((r) => r.slice(1, -1));
    };
    for (const timeLabels of ['clock', 'relative'] as const) {
      const s = mount();
      const chart = createChart({ parent: s.screen, timeLabels });
      chart.render();
      expect(xLabelRows(s.text()).join('').trim()).toBe('');
      expect(dottedColumns(s.text())).toEqual([]);

      chart.push('ramp', { value: 1, timestampMs: T0, seq: 1 });
      chart.push('ramp', { value: 2, timestampMs: T0 + 1000, seq: 2 });
      chart.render();
      const labels = xLabelRows(s.text()).join(' ');
      expect(labels).toMatch(timeLabels === 'clock' ? /\d\d:\d\d:\d\d\.\d{3}/ : /-1\.00s/);
      expect(labels).not.toMatch(/000000/);

      chart.clear();
      chart.render();
      expect(xLabelRows(s.text()).join('').trim()).toBe('');
    }
  });

  it('scales the y axis to the data when no range is fixed', () => {
    const s = mount();
    const chart = createChart({ parent: s.screen });
    for (let i = 0; i < 10; i += 1) chart.push('big', { value: 103 + i * 10, timestampMs: T0 + i * 1000, seq: i + 1 });
    chart.render();
    expect(s.text()).toMatch(yLabel('100'));
    expect(s.text()).toMatch(yLabel('200'));
    expect(s.text()).not.toMatch(yLabel('0'));
  });

  it('shows relative seconds on the x axis when asked', () => {
    const s = mount();
    const chart = createChart({ parent: s.screen, timeLabels: 'relative' });
    for (let i = 0; i < 20; i += 1) chart.push('ramp', { value: i, timestampMs: T0 + i * 500, seq: i + 1 });
    chart.render();
    expect(s.text()).toMatch(/-9\.5s/);
  });

  it('leaves a gap where the seq jumps, and none where it does not', () => {
    const s = mount();
    const chart = createChart({ parent: s.screen, yMin: 0, yMax: 1, showLegend: false });
    const feed = (name: string, skip: number): void => {
      for (let i = 0; i < 20; i += 1) {
        const seq = i < 10 ? i + 1 : i + 1 + skip;
        chart.push(name, { value: 0.5, timestampMs: T0 + (seq - 1) * 100, seq });
      }
    };
    feed('steady', 0);
    chart.render();
    expect(longestRun(dottedColumns(s.text()))).toBe(0);

    chart.clear();
    feed('lossy', 10);
    chart.render();
    expect(longestRun(dottedColumns(s.text()))).toBeGreaterThan(10);
    expect(chart.stats()[0]).toMatchObject({ name: 'lossy', lost: 10 });
  });

  it('takes a NaN value as missing data: a gap, not a point', () => {
    const s = mount();
    const chart = createChart({ parent: s.screen });
    chart.push('p', { value: 1, timestampMs: T0 });
    chart.push('p', { value: Number.NaN, timestampMs: T0 + 1 });
    chart.push('p', { value: 2, timestampMs: T0 + 2 });
    expect(chart.stats()[0]).toMatchObject({ size: 2, min: 1, max: 2 });
  });

  it('draws several sensors with a legend entry each, up to maxSeries', () => {
    const s = mount();
    const chart = createChart({ parent: s.screen, maxSeries: 2 });
    for (const name of ['alpha', 'beta', 'gamma']) chart.push(name, { value: 1, timestampMs: T0, seq: 1 });
    chart.render();
    expect(s.text()).toContain('alpha');
    expect(s.text()).toContain('beta');
    expect(s.text()).not.toContain('gamma');
    expect(chart.ignored).toBe(1);
    expect(chart.names()).toEqual(['alpha', 'beta']);
  });

  it('shows the last window readings, and more after setWindow', () => {
    const s = mount();
    const chart = createChart({ parent: s.screen, window: 5 });
    for (let i = 1; i <= 30; i += 1) chart.push('ramp', { value: i, timestampMs: T0 + i, seq: i });
    expect(chart.stats()[0]).toMatchObject({ size: 5, min: 26, max: 30 });
    chart.setWindow(20);
    expect(chart.stats()[0]).toMatchObject({ size: 20, min: 11, max: 30 });
    expect(() => chart.setWindow(1)).toThrow(RangeError);
  });

  it('mounts in a blessed-contrib grid cell', () => {
    const s = mount();
    const grid = new contrib.grid({ rows: 2, cols: 1, screen: s.screen });
    const chart = createChart({ grid: { grid, row: 1, col: 0, rowSpan: 1, colSpan: 1 }, label: ' in a grid ' });
    chart.push('ramp', { value: 1, timestampMs: T0, seq: 1 });
    chart.push('ramp', { value: 2, timestampMs: T0 + 100, seq: 2 });
    chart.render();
    const rows = s.text().split('\n');
    expect(rows.findIndex((r) => r.includes('in a grid'))).toBeGreaterThanOrEqual(14);
  });

  it('survives resizing, to larger and to tiny sizes', () => {
    const s = mount(80, 24);
    const chart = createChart({ parent: s.screen });
    for (let i = 0; i < 20; i += 1) chart.push('ramp', { value: i, timestampMs: T0 + i * 100, seq: i + 1 });
    chart.render();
    expect(() => {
      s.resize(140, 40);
      chart.render();
    }).not.toThrow();
    expect(s.text().split('\n')[0]).toHaveLength(140);
    expect(s.text()).toContain('ramp');
    expect(() => {
      s.resize(8, 4);
      chart.render();
      s.resize(100, 30);
      chart.render();
    }).not.toThrow();
    expect(s.text()).toContain('ramp');
  });

  it('renders on a bounded frame timer, not per reading', () => {
    const s = mount();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const render = vi.spyOn(s.screen, 'render');
    const chart = createChart({ parent: s.screen, frameIntervalMs: 50 });
    // 10,000 readings over one second of fake time: a 10 kHz sensor.
    for (let i = 0; i < 10_000; i += 1) {
      chart.push('fast', { value: i % 100, timestampMs: T0 + i / 10, seq: i + 1 });
      if (i % 10 === 9) vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(100);
    expect(chart.frames).toBeGreaterThanOrEqual(20);
    expect(chart.frames).toBeLessThanOrEqual(1000 / 50 + 3);
    expect(render.mock.calls.length).toBe(chart.frames);
    // Nothing new: no more frames.
    vi.advanceTimersByTime(1000);
    expect(render.mock.calls.length).toBe(chart.frames);
  });
});
