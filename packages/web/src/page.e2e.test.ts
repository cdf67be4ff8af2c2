import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, browserTestsRun, buildTestPage, launch } from './testing/browser.js';
import { Fixture, type Started } from './testing/fixture.js';

/** What the tests read of the page (`window.__opc`, src/page/app.ts). */
interface OpcPage {
  live: boolean;
  mode: 'raw' | 'buckets';
  loading: unknown;
  plot: {
    data: ArrayLike<number | null | undefined>[];
    series: { label?: string }[];
    scales: { x: { min: number; max: number } };
  };
  tracks: Map<string, { raw: { slice(from: number, to: number): { seq: Float64Array } } }>;
}

const fixture = new Fixture();
let browser: Browser;
let pageDir: string;
let removePage: (() => void) | undefined;
const pages: Page[] = [];
const errors: string[] = [];

beforeAll(async () => {
  if (!browserTestsRun) return;
  const built = await buildTestPage();
  pageDir = built.dir;
  removePage = built.remove;
  browser = await launch();
}, 60_000);

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  await fixture.cleanup();
  expect(errors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  removePage?.();
});

async function open(started: Started, query: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  pages.push(page);
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A server that is down shows up as failed requests; anything else logged as an error is a defect.
    if (msg.type() === 'error' && !/Failed to load resource|net::ERR_/.test(msg.text())) errors.push(msg.text());
  });
  await page.goto(`${started.base}/${query}`);
  return page;
}

/** The numeric points `[x, y]` of the chart's series labelled `label`. */
function points(page: Page, label: string): Promise<[number, number][]> {
  return page.evaluate((label) => {
    const { plot } = (globalThis as unknown as { __opc: OpcPage }).__opc;
    const k = plot.series.findIndex((s) => s.label === label);
    const xs = plot.data[0]!;
    const ys = plot.data[k]!;
    const out: [number, number][] = [];
    for (let i = 0; i < xs.length; i++) if (typeof ys[i] === 'number') out.push([xs[i] as number, ys[i] as number]);
    return out;
  }, label);
}

const state = (page: Page): Promise<{ live: boolean; mode: string; min: number; max: number; series: number }> =>
  page.evaluate(() => {
    const opc = (globalThis as unknown as { __opc: OpcPage }).__opc;
    const x = opc.plot.scales.x;
    return { live: opc.live, mode: opc.mode, min: x.min, max: x.max, series: opc.plot.series.length };
  });

const seqsOf = (page: Page, name: string): Promise<number[]> =>
  page.evaluate((name) => {
    const track = (globalThis as unknown as { __opc: OpcPage }).__opc.tracks.get(name);
    return track === undefined ? [] : [...track.raw.slice(-Infinity, Infinity).seq];
  }, name);

/** Readings of the last `seconds`, one a second, as native lines (timestamps in seconds). */
function history(name: string, seconds: number, value: (i: number) => number, offsetMs = 0): string {
  const now = Date.now();
  return Array.from({ length: seconds }, (_, i) => {
    const ts = (now - (seconds - i) * 1000 + offsetMs) / 1000;
    return `${name} ${value(i)} ${ts.toFixed(3)}`;
  }).join('\n');
}

async function center(page: Page): Promise<{ x: number; y: number }> {
  const box = (await page.locator('.u-over').boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

describe.skipIf(!browserTestsRun)('the page in Chromium (docs/HTTP.md, "The page")', () => {
  it('draws the window from the server and a UDP reading shortly after it is sent', async () => {
    const started = await fixture.start({ server: { historyCapacity: 1000 }, web: { pageDir } });
    started.server.ingest(Buffer.from(`${history('ramp', 30, (i) => i)}\n${history('saw', 30, (i) => -i, 500)}`));
    const page = await open(started, '?window=1m');
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.plot?.data[0]?.length === 60);
    const stored = started.server.store
      .get('ramp')!
      .history()
      .map((r) => [r.timestampMs, r.value]);
    expect(await points(page, 'ramp')).toEqual(stored);
    expect(await points(page, 'saw')).toHaveLength(30);
    expect(await state(page)).toMatchObject({ live: true, mode: 'raw', series: 3 });
    await fixture.udp(started.udpPort, 'ramp 123.5');
    await page.waitForFunction(() => {
      const { plot } = (globalThis as unknown as { __opc: OpcPage }).__opc;
      const k = plot.series.findIndex((s) => s.label === 'ramp');
      return Array.from(plot.data[k] ?? []).includes(123.5);
    });
    await expect.poll(() => page.locator('#legend tr[data-sensor="ramp"] td').nth(2).textContent()).toBe('123.5');
    expect(await page.locator('#status').textContent()).toBe('live');
    await page.screenshot({ path: join(ARTIFACTS, 'page-raw.png') });
  });

  it('asks for buckets in a long window, draws their envelope, and stays live', async () => {
    const started = await fixture.start({ server: { historyCapacity: 1000 }, web: { pageDir } });
    started.server.ingest(Buffer.from(`${history('ramp', 120, (i) => i % 10)}\n${history('saw', 120, (i) => -i)}`));
    const page = await open(started, '?window=10m');
    await page.waitForFunction(
      () => ((globalThis as unknown as { __opc: OpcPage }).__opc.plot?.data[0]?.length ?? 0) > 0,
    );
    const request = page.waitForRequest((r) => r.url().includes('/api/range') && r.url().includes('points='));
    await page.click('button[data-window="24h"]');
    const asked = new URL((await request).url());
    // About one bucket per pixel column of the chart.
    expect(Number(asked.searchParams.get('points'))).toBeGreaterThan(500);
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.mode === 'buckets');
    expect(await state(page)).toMatchObject({ live: true, series: 1 + 3 * 2 });
    expect((await points(page, 'ramp max')).length).toBeGreaterThan(0);
    expect(await page.locator('#mode').textContent()).toBe('live · min/max buckets');
    await fixture.udp(started.udpPort, 'ramp 999');
    await page.waitForFunction(() => {
      const { plot } = (globalThis as unknown as { __opc: OpcPage }).__opc;
      const k = plot.series.findIndex((s) => s.label === 'ramp max');
      return Array.from(plot.data[k] ?? []).includes(999);
    });
    await page.screenshot({ path: join(ARTIFACTS, 'page-buckets.png') });
  });

  it('pauses on pan and zoom, and goes live again with Resume or a double-click', async () => {
    const started = await fixture.start({ server: { historyCapacity: 1000 }, web: { pageDir } });
    started.server.ingest(Buffer.from(history('ramp', 50, (i) => i)));
    const page = await open(started, '?window=1m');
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.plot?.data[0]?.length === 50);
    const { x, y } = await center(page);
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + 200, y, { steps: 5 });
    await page.mouse.up();
    const panned = await state(page);
    expect(panned.live).toBe(false);
    expect(await page.locator('#resume').isVisible()).toBe(true);
    // A reading while paused updates the legend, not the chart.
    await fixture.udp(started.udpPort, 'ramp 777');
    await expect.poll(() => page.locator('#legend tr[data-sensor="ramp"] td').nth(2).textContent()).toBe('777');
    expect((await points(page, 'ramp')).some(([, v]) => v === 777)).toBe(false);
    expect(await state(page)).toMatchObject({ live: false, min: panned.min, max: panned.max });
    await page.click('#resume');
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.live);
    await expect.poll(async () => (await points(page, 'ramp')).some(([, v]) => v === 777)).toBe(true);
    expect(await page.locator('#resume').isVisible()).toBe(false);
    // The wheel zooms (and pauses); a double-click resumes.
    await page.mouse.move(x, y);
    await page.mouse.wheel(0, -400);
    const zoomed = await state(page);
    expect(zoomed.live).toBe(false);
    expect(zoomed.max - zoomed.min).toBeLessThan(60_000);
    await page.mouse.dblclick(x, y);
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.live);
  });

  it('downloads a CSV of what is on screen that holds the server readings of that span', async () => {
    const started = await fixture.start({ server: { historyCapacity: 1000 }, web: { pageDir } });
    started.server.ingest(
      Buffer.from(`${history('ramp', 50, (i) => i / 3)}\n${history('saw', 50, (i) => 1e-7 * i, 250)}`),
    );
    const page = await open(started, '?window=1m');
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.plot?.data[0]?.length === 100);
    // Zoom in (the page pauses and loads what is on screen), then download.
    const { x, y } = await center(page);
    const loaded = page.waitForResponse((r) => r.url().includes('/api/range?sensor=saw'));
    await page.mouse.move(x, y);
    await page.mouse.wheel(0, -300);
    await loaded;
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.loading === undefined);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = await readFile(await download.path(), 'utf8');
    const { min, max } = await state(page);
    const [header, ...rows] = csv.trimEnd().split('\n');
    expect(header).toBe('sensor,ts,value,seq');
    for (const sensor of ['ramp', 'saw']) {
      const server = await fixture.request(
        `${started.base}/api/range?sensor=${sensor}&from=${min}&to=${max}&format=csv`,
      );
      const expected = server.text.trimEnd().split('\n').slice(1);
      expect(expected.length).toBeGreaterThan(5);
      expect(expected.length).toBeLessThan(50);
      expect(rows.filter((r) => r.startsWith(`${sensor},`)).map((r) => r.slice(sensor.length + 1))).toEqual(expected);
    }
  });

  it('draws every one of twenty sensors a pattern picks, each in a colour of its own', async () => {
    const started = await fixture.start({ server: { historyCapacity: 1000 }, web: { pageDir } });
    const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
    started.server.ingest(Buffer.from(names.map((name, k) => history(name, 20, (i) => k * 100 + i)).join('\n')));
    const page = await open(started, '?pattern=s*&window=1m');
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.plot?.series.length === 21);
    await page.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.plot.data[0]!.length > 0);
    for (const [k, name] of names.entries()) {
      const drawn = await points(page, name);
      expect(drawn).toHaveLength(20);
      expect(drawn.map(([, y]) => y)).toEqual(Array.from({ length: 20 }, (_, i) => k * 100 + i));
    }
    expect(await page.locator('#legend tbody tr').count()).toBe(20);
    const colors = await page
      .locator('#legend .swatch')
      .evaluateAll((els) => els.map((e) => (e as unknown as { style: { background: string } }).style.background));
    expect(new Set(colors).size).toBe(20);
    expect(await page.locator('#mode').textContent()).toBe('live · raw readings');
  });

  it('says how many of the matching sensors it shows when a pattern matches more than it draws', async () => {
    const started = await fixture.start({ server: { historyCapacity: 1000 }, web: { pageDir } });
    const lines = Array.from({ length: 55 }, (_, i) => history(`m${i}`, 2, () => i));
    started.server.ingest(Buffer.from(lines.join('\n')));
    const page = await open(started, '?pattern=m*&window=1m');
    await expect
      .poll(() => page.locator('#mode').textContent())
      .toBe('live · raw readings · showing 50 of 55: refine the pattern');
    expect((await state(page)).series).toBe(51);
  });

  it('draws a minute of 100 readings a second as a few points per pixel column, and downloads every reading', async () => {
    const started = await fixture.start({ server: { historyCapacity: 4000 }, web: { pageDir } });
    // 3,000 readings from 45 s to 15 s ago, 10 ms apart: all on screen while the test runs.
    const t0 = Date.now() - 45_000;
    const lines = Array.from(
      { length: 3000 },
      (_, i) => `dense ${Math.sin(i / 40)} ${((t0 + i * 10) / 1000).toFixed(3)}`,
    );
    started.server.ingest(Buffer.from(lines.join('\n')));
    const page = await open(started, '?window=1m');
    await page.waitForFunction(
      () => ((globalThis as unknown as { __opc: OpcPage }).__opc.plot?.data[0]?.length ?? 0) > 0,
    );
    const drawn = await points(page, 'dense');
    const stored = started.server.store.get('dense')!.history();
    expect(stored).toHaveLength(3000);
    // 30 s of a 1 min window over some 1000 pixel columns: about 500 columns, at most four points each.
    expect(drawn.length).toBeLessThanOrEqual(4 * 520);
    expect(drawn.length).toBeGreaterThan(480);
    const values = stored.map((r) => r.value);
    expect(Math.min(...drawn.map(([, y]) => y))).toBe(Math.min(...values));
    expect(Math.max(...drawn.map(([, y]) => y))).toBe(Math.max(...values));
    expect(drawn[0]).toEqual([stored[0]!.timestampMs, stored[0]!.value]);
    expect(drawn.at(-1)).toEqual([stored.at(-1)!.timestampMs, stored.at(-1)!.value]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = await readFile(await download.path(), 'utf8');
    const server = await fixture.request(`${started.base}/api/range?sensor=dense&from=0&format=csv`);
    const expected = server.text.trimEnd().split('\n').slice(1);
    expect(expected).toHaveLength(3000);
    expect(csv.trimEnd().split('\n').slice(1)).toEqual(expected.map((r) => `dense,${r}`));
  });

  it('follows a dark system theme and fits a phone-wide screen, chart and legend included', async () => {
    const started = await fixture.start({ server: { historyCapacity: 1000 }, web: { pageDir } });
    started.server.ingest(Buffer.from(`${history('ramp', 30, (i) => i)}\n${history('saw', 30, (i) => -i, 500)}`));
    // Expressions, not functions: this file is compiled without the DOM's types.
    const colors = (page: Page): Promise<{ bg: string; fg: string }> =>
      page.evaluate(
        '(() => { const s = getComputedStyle(document.body); return { bg: s.backgroundColor, fg: s.color }; })()',
      );
    const light = await open(started, '?window=1m');
    await light.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.plot?.data[0]?.length === 60);
    const phone = await browser.newPage({ viewport: { width: 375, height: 700 }, colorScheme: 'dark', isMobile: true });
    pages.push(phone);
    phone.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    await phone.goto(`${started.base}/?window=1m`);
    await phone.waitForFunction(() => (globalThis as unknown as { __opc: OpcPage }).__opc.plot?.data[0]?.length === 60);
    expect(await colors(light)).toEqual({ bg: 'rgb(255, 255, 255)', fg: 'rgb(31, 35, 40)' });
    expect(await colors(phone)).toEqual({ bg: 'rgb(13, 17, 23)', fg: 'rgb(230, 237, 243)' });
    // Nothing wider than the screen: no sideways scrolling, and the chart within it.
    const fit = await phone.evaluate<{ page: number; chart: number; screen: number }>(
      `({ page: document.documentElement.scrollWidth, screen: window.innerWidth,
          chart: document.querySelector('.u-over').getBoundingClientRect().right })`,
    );
    expect(fit.page).toBeLessThanOrEqual(fit.screen);
    expect(fit.chart).toBeLessThanOrEqual(fit.screen);
    expect(await phone.locator('#legend tr[data-sensor="saw"]').isVisible()).toBe(true);
    await phone.screenshot({ path: join(ARTIFACTS, 'page-phone-dark.png') });
  });

  it('shows a server that went away, and resumes without a gap once it is back on the same port', async () => {
    const dir = fixture.tempDir();
    const one = await fixture.start({ server: { storage: { dir } }, web: { pageDir } });
    one.server.ingest(Buffer.from(history('ramp', 3, (i) => i + 1)));
    const page = await open(one, '?pattern=ramp&window=1m');
    await expect.poll(() => seqsOf(page, 'ramp')).toEqual([1, 2, 3]);
    // From here on the page loads no range: what it gets, it gets by resuming its stream.
    const requests: { path: string; lastEventId: string | undefined }[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      // allHeaders(): the browser adds Last-Event-ID below the page, where headers() does not see it.
      void r.allHeaders().then((h) => requests.push({ path, lastEventId: h['last-event-id'] }));
    });
    await one.web.close();
    await one.server.close();
    await page.locator('#banner').waitFor({ state: 'visible' });
    expect(await page.locator('#status').textContent()).not.toBe('live');
    // The new server has readings the page has not seen before it serves the page's stream again.
    const two = await fixture.start({ server: { storage: { dir } }, web: { pageDir, port: one.web.port } });
    two.server.ingest(Buffer.from('ramp 4\nramp 5\nramp 6'));
    await expect.poll(() => seqsOf(page, 'ramp'), { timeout: 15_000 }).toEqual([1, 2, 3, 4, 5, 6]);
    expect(requests.filter((r) => r.path === '/api/range')).toEqual([]);
    await expect
      .poll(() => requests.filter((r) => r.path === '/api/stream').map((r) => r.lastEventId))
      .toContain('ramp:3');
    await page.locator('#banner').waitFor({ state: 'hidden' });
    await fixture.udp(two.udpPort, 'ramp 7');
    await expect.poll(() => seqsOf(page, 'ramp')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await page.locator('#status').textContent()).toBe('live');
  }, 30_000);
});
