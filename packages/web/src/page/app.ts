/**
 * The page (docs/HTTP.md, "The page"): several sensors on one uPlot chart, live.
 *
 * How it works: a window (1 min to 30 d) is loaded from `/api/range`, raw readings up to 10 min (or when there
 * are not too many), buckets of about one pixel column each beyond (drawn as the mean with a min/max band).
 * The stream (`/api/stream`) is opened before the first load; readings that arrive while a load is under way
 * are held and applied after it, those the load already brought skipped. Live readings go into the sensors'
 * typed-array series and mark the chart dirty; one animation frame redraws it, however many readings came, from
 * raw readings folded to a few points per pixel column (`foldTable`), and while live no sooner than the window
 * has moved by a pixel column (at most 50 ms later).
 * Panning or zooming stops following now (the live readings still update the legend), loads what is on
 * screen, and shows Resume; Resume or a double-click loads the window again and follows now.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { fetchBuckets, fetchRaw, fetchSensors, type SensorInfo } from './api.js';
import { LiveStream, type StreamState, type WireReading } from './live.js';
import {
  bucketCsv,
  BucketSeries,
  foldTable,
  plotTable,
  rawCsv,
  RawSeries,
  type Bucket,
  type RawRow,
  type Trace,
} from './series.js';

const WINDOWS: Readonly<Record<string, number>> = Object.freeze({
  '1m': 60_000,
  '10m': 600_000,
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
});
/** Spans up to this are loaded as raw readings (unless a sensor has more than RAW_LIMIT in it). */
const RAW_SPAN_MS = 10 * 60_000;
const RAW_LIMIT = 20_000;
/**
 * Sensors drawn at most (docs/HTTP.md, "The page"); past it the mode line says how many of how many are shown.
 * Raw readings are folded per pixel column, so a redraw costs about the same for any number of readings; this
 * bounds the legend and the number of lines one chart can tell apart.
 */
const MAX_TRACKS = 50;
/** While live, the longest between two redraws of a moving window: new readings show within it. */
const LIVE_REDRAW_MS = 50;
const PALETTE = ['#2f81f7', '#e5534b', '#3fb950', '#d29922', '#a371f7', '#ec6547', '#39c5cf', '#db61a2', '#8b949e'];

interface Track {
  name: string;
  color: string;
  info: SensorInfo | undefined;
  raw: RawSeries;
  buckets: BucketSeries | undefined;
  /** Latest value seen (stream or API). */
  last: number | undefined;
  min: number | undefined;
  max: number | undefined;
}

type Mode = 'raw' | 'buckets';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** A sensor name or pattern (docs/PROTOCOL.md, "Readings, names and numbers"). */
const PATTERN = /^[A-Za-z0-9_.\-/*]{1,128}$/;

/**
 * The unit shown after a sensor's values. The server keeps no unit yet; when `/api/sensors` gains one
 * (`SensorInfo.unit`), it shows up here with no other change.
 */
function unitOf(info: SensorInfo | undefined): string {
  return info?.unit ?? '';
}

function fmt(v: number | undefined | null): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The n-th sensor's colour: the palette, then hues a golden angle apart. */
function colorAt(n: number): string {
  const fixed = PALETTE[n];
  if (fixed !== undefined) return fixed;
  const h = ((n - PALETTE.length) * 137.508 + 200) % 360;
  const f = (k: number): number => {
    const a = (k + h / 30) % 12;
    const c = 0.5 - 0.35 * Math.max(-1, Math.min(a - 3, 9 - a, 1));
    return Math.round(c * 255);
  };
  return `#${((f(0) << 16) | (f(8) << 8) | f(4)).toString(16).padStart(6, '0')}`;
}

function withAlpha(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

class Page {
  pattern: string;
  windowKey: string;
  mode: Mode = 'raw';
  live = true;
  tracks = new Map<string, Track>();
  /** Sensors matching the pattern, drawn or not. */
  matching = 0;
  plot: uPlot | undefined;
  /** The span last loaded (while paused: what is on screen). */
  view = { from: 0, to: 0 };
  /** Server clock − this clock, ms. */
  offsetMs = 0;
  stream: LiveStream;
  streamState: StreamState = 'connecting';
  apiOk = true;
  /** Bumped by every load: one finishing after a newer one started is dropped. */
  loads = 0;
  loading: AbortController | undefined;
  /** Readings held while a load is under way. */
  held: WireReading[] | undefined;
  #shape = '';
  #frame = 0;
  /** When the last redraw ended and how long it took (performance.now() ms). */
  #drawnAt = 0;
  #drawMs = 0;
  /** The frame time of the last redraw. */
  #drawStart = -Infinity;
  #reload: number | undefined;
  #downSince: number | undefined;
  readonly #chart = $<HTMLDivElement>('chart');
  readonly #colors = new Map<string, string>();

  constructor() {
    const params = new URLSearchParams(location.search);
    const asked = params.get('pattern') ?? params.get('sensor') ?? '*';
    this.pattern = PATTERN.test(asked) ? asked : '*';
    const w = params.get('window') ?? '10m';
    this.windowKey = WINDOWS[w] === undefined ? '10m' : w;
    $<HTMLInputElement>('pattern').value = this.pattern === '*' ? '' : this.pattern;
    this.stream = this.#openStream();
    this.#wire();
    this.#syncControls();
    void this.resume();
    window.setInterval(() => void this.#refreshSensors(), 5000);
    window.setInterval(() => this.#tick(), 250);
  }

  get windowMs(): number {
    return WINDOWS[this.windowKey]!;
  }

  serverNow(): number {
    return Date.now() + this.offsetMs;
  }

  /** Follows now again: loads the window ending now. */
  async resume(): Promise<void> {
    window.clearTimeout(this.#reload); // a load of a paused view, or a retry, is not wanted any more
    this.live = true;
    this.#syncControls();
    const to = this.serverNow();
    await this.load(to - this.windowMs, to);
  }

  /** Loads [from, to] for every sensor matching the pattern: raw, or buckets for a long span. */
  async load(from: number, to: number): Promise<void> {
    this.loading?.abort();
    const ctl = new AbortController();
    this.loading = ctl;
    const load = ++this.loads;
    this.held ??= [];
    const signal = ctl.signal;
    try {
      const { sensors } = await fetchSensors(this.pattern, signal);
      this.matching = sensors.length;
      const picked = sensors.slice(0, MAX_TRACKS);
      let mode: Mode = to - from <= RAW_SPAN_MS ? 'raw' : 'buckets';
      const tracks = new Map<string, Track>();
      const cutoff = new Map<string, number>();
      if (mode === 'raw') {
        const answers = await Promise.all(picked.map((s) => fetchRaw(s.name, from, to, RAW_LIMIT, signal)));
        if (answers.some((a) => a.more !== null)) {
          mode = 'buckets';
        } else {
          answers.forEach((answer, i) => {
            const track = this.#track(picked[i]);
            for (const r of answer.readings) track.raw.add(r.ts, r.value, r.seq);
            cutoff.set(track.name, track.raw.lastSeq);
            tracks.set(track.name, track);
          });
        }
      }
      if (mode === 'buckets') {
        const points = this.#points();
        const answers = await Promise.all(picked.map((s) => fetchBuckets(s.name, from, to, points, signal)));
        answers.forEach((answer, i) => {
          const track = this.#track(picked[i]);
          track.buckets = new BucketSeries(answer.from, (answer.to - answer.from) / answer.points);
          for (const b of answer.buckets) track.buckets.put(b);
          cutoff.set(track.name, answer.to);
          tracks.set(track.name, track);
        });
      }
      if (load !== this.loads) return;
      this.apiOk = true;
      this.tracks = tracks;
      this.mode = mode;
      this.view = { from, to };
      const held = this.held ?? [];
      this.held = undefined;
      this.loading = undefined;
      // What the load brought is not applied twice: raw by seq, buckets by the answer's end.
      for (const reading of held) {
        const [name, seq, ts] = reading;
        const edge = cutoff.get(name);
        if (edge !== undefined && (mode === 'raw' ? seq <= edge : ts <= edge)) continue;
        this.#apply(reading);
      }
      this.#rebuild();
      if (!this.live) this.plot?.setScale('x', { min: from, max: to });
      this.#syncControls();
      this.markDirty();
    } catch (err) {
      if (signal.aborted) return;
      this.apiOk = false;
      if (load === this.loads) {
        // The live readings held for this load go to what is drawn now.
        const held = this.held ?? [];
        this.held = undefined;
        this.loading = undefined;
        for (const reading of held) this.#apply(reading);
      }
      this.#showState();
      console.warn('opc-lite: loading failed', err);
      // Tried again while the server is away; the stream's reconnect brings the live part anyway.
      this.#reload = window.setTimeout(() => void (this.live ? this.resume() : this.load(from, to)), 3000);
    }
  }

  /**
   * Asks for a redraw in an animation frame, once however often it is called. While live, redraws are at least
   * one pixel column of time apart (the window moves by less in between), and at most {@link LIVE_REDRAW_MS};
   * a redraw that took longer than half a frame makes the next one wait as long again, so drawing never takes
   * the whole main thread.
   */
  markDirty(): void {
    if (this.#frame !== 0) return;
    const frame = (now: number): void => {
      const pixels = Math.max(1, (this.plot?.bbox.width ?? 0) / devicePixelRatio);
      const apart = this.live ? Math.min(LIVE_REDRAW_MS, this.windowMs / pixels) : 0;
      const slow = this.#drawMs > 8 ? this.#drawMs : 0;
      if (now < this.#drawnAt + slow || now < this.#drawStart + apart - 4) {
        this.#frame = requestAnimationFrame(frame);
        return;
      }
      this.#frame = 0;
      this.#drawStart = now;
      const start = performance.now();
      this.#draw();
      this.#drawnAt = performance.now();
      this.#drawMs = this.#drawnAt - start;
    };
    this.#frame = requestAnimationFrame(frame);
  }

  /** The page's CSV of what is on screen: raw readings when raw, buckets otherwise. */
  csv(): string {
    const x = this.plot?.scales.x;
    const min = x?.min ?? this.view.from;
    const max = x?.max ?? this.view.to;
    if (this.mode === 'raw') {
      const rows: RawRow[] = [];
      for (const t of this.tracks.values()) {
        const { ts, value, seq } = t.raw.slice(min, max);
        for (let i = 0; i < ts.length; i++) rows.push({ sensor: t.name, ts: ts[i]!, value: value[i]!, seq: seq[i]! });
      }
      return rawCsv(rows);
    }
    const rows: (Bucket & { sensor: string })[] = [];
    for (const t of this.tracks.values())
      for (const b of t.buckets?.slice(min, max) ?? []) rows.push({ sensor: t.name, ...b });
    return bucketCsv(rows);
  }

  // ---- live ------------------------------------------------------------------------

  #openStream(): LiveStream {
    return new LiveStream(this.pattern, {
      readings: (batch) => {
        if (this.held !== undefined) this.held.push(...batch);
        else for (const reading of batch) this.#apply(reading);
        this.markDirty();
      },
      state: (state) => {
        const wasDown = this.streamState !== 'open';
        this.streamState = state;
        if (state === 'open' && wasDown) void this.#refreshSensors();
        this.#showState();
      },
      clock: (now) => {
        this.offsetMs = now - Date.now();
      },
    });
  }

  #apply([name, seq, ts, value]: WireReading): void {
    let track = this.tracks.get(name);
    if (track === undefined) {
      // A sensor that appeared after the load: drawn from its first reading, if there is room.
      if (this.tracks.size >= MAX_TRACKS) return;
      track = this.#track(undefined, name);
      if (this.mode === 'buckets') {
        const { from, to } = this.view;
        track.buckets = new BucketSeries(from, (to - from) / this.#points());
      }
      this.tracks.set(name, track);
      this.matching++;
      this.#rebuild();
    }
    track.last = value;
    if (track.info !== undefined) {
      track.info.seq = seq;
      track.info.value = value;
      track.info.ts = ts;
    }
    if (!this.live) return;
    if (this.mode === 'raw') track.raw.add(ts, value, seq);
    else track.buckets?.add(ts, value);
  }

  #track(info: SensorInfo | undefined, name = info!.name): Track {
    let color = this.#colors.get(name);
    if (color === undefined) {
      color = colorAt(this.#colors.size);
      this.#colors.set(name, color);
    }
    return {
      name,
      color,
      info,
      raw: new RawSeries(),
      buckets: undefined,
      last: info?.value ?? undefined,
      min: undefined,
      max: undefined,
    };
  }

  async #refreshSensors(): Promise<void> {
    try {
      const { sensors } = await fetchSensors(this.pattern);
      this.apiOk = true;
      this.matching = Math.max(sensors.length, this.tracks.size);
      for (const info of sensors) {
        const track = this.tracks.get(info.name);
        if (track === undefined) continue;
        track.info = info;
        track.last = info.value ?? track.last;
      }
      this.#legend();
    } catch {
      this.apiOk = false;
    }
    this.#showState();
  }

  /** While live, the window moves on even when no reading comes. */
  #tick(): void {
    if (this.live && this.plot !== undefined && this.loading === undefined) this.markDirty();
  }

  // ---- drawing ---------------------------------------------------------------------

  #points(): number {
    return Math.max(50, Math.min(2000, Math.round(this.#chart.clientWidth || 800)));
  }

  /** (Re)creates the chart when the sensors or the mode changed. */
  #rebuild(force = false): void {
    const shape = `${this.mode}|${[...this.tracks.keys()].join(',')}`;
    if (!force && shape === this.#shape && this.plot !== undefined) return;
    this.#shape = shape;
    const keep = this.plot?.scales.x;
    this.plot?.destroy();
    const fg = cssVar('--fg');
    const grid = cssVar('--grid');
    const series: uPlot.Series[] = [{}];
    const bands: uPlot.Band[] = [];
    for (const t of this.tracks.values()) {
      series.push({ label: t.name, stroke: t.color, width: 1.5, spanGaps: false });
      if (this.mode === 'buckets') {
        const mean = series.length - 1;
        series.push({ label: `${t.name} min`, stroke: 'transparent', width: 0, points: { show: false } });
        series.push({ label: `${t.name} max`, stroke: 'transparent', width: 0, points: { show: false } });
        bands.push({ series: [mean + 2, mean + 1], fill: withAlpha(t.color, 0.2) });
      }
    }
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const empty: uPlot.AlignedData = [[], ...series.slice(1).map(() => [])];
    this.plot = new uPlot(
      {
        width: this.#chart.clientWidth || 800,
        height: this.#chart.clientHeight || 320,
        ms: 1,
        series,
        bands,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        scales: { x: { time: true } },
        axes: [axis, { ...axis, size: 64 }],
      },
      empty,
      this.#chart,
    );
    this.#wirePlot(this.plot);
    if (keep?.min !== undefined && keep.max !== undefined && !this.live) {
      this.plot.setScale('x', { min: keep.min, max: keep.max });
    }
    this.#legend(true);
  }

  #draw(): void {
    const plot = this.plot;
    if (plot === undefined) return;
    let from: number;
    let to: number;
    if (this.live) {
      to = this.serverNow();
      from = to - this.windowMs;
      const keep = from - this.windowMs * 0.05;
      for (const t of this.tracks.values()) {
        t.raw.trimBefore(keep);
        t.buckets?.trimBefore(keep);
      }
    } else {
      from = plot.scales.x?.min ?? this.view.from;
      to = plot.scales.x?.max ?? this.view.to;
    }
    const pad = (to - from) * 0.02;
    const pixels = Math.max(1, plot.bbox.width / devicePixelRatio);
    const tracks = [...this.tracks.values()];
    let table: uPlot.AlignedData;
    if (this.mode === 'raw') {
      // Folded to a few points per pixel column: what is drawn does not grow with the readings on screen.
      const traces: Trace[] = tracks.map((t) => {
        const { ts, value } = t.raw.slice(from - pad, to + pad);
        return { x: ts, ys: [value] };
      });
      const folded = foldTable(traces, from - pad, to + pad, Math.ceil(pixels * (1 + 0.04)));
      tracks.forEach((t, i) => {
        t.min = folded.min[i];
        t.max = folded.max[i];
      });
      table = folded.table;
    } else {
      const traces: Trace[] = [];
      for (const t of tracks) {
        const cols = t.buckets?.columns(from - pad, to + pad);
        traces.push(
          cols === undefined ? { x: [], ys: [[], [], []] } : { x: cols.x, ys: [cols.mean, cols.min, cols.max] },
        );
        t.min = cols === undefined || cols.min.length === 0 ? undefined : cols.min.reduce((a, b) => Math.min(a, b));
        t.max = cols === undefined || cols.max.length === 0 ? undefined : cols.max.reduce((a, b) => Math.max(a, b));
      }
      // A gap is at least two pixel columns wide: closer points are one stroke anyway.
      table = plotTable(traces, (2 * (to - from)) / pixels);
    }
    plot.batch(() => {
      plot.setData(table, false);
      plot.setScale('x', { min: from, max: to });
    });
    this.#legend();
  }

  #legend(rebuild = false): void {
    const body = document.querySelector<HTMLTableSectionElement>('#legend tbody')!;
    if (rebuild) {
      body.replaceChildren(
        ...[...this.tracks.values()].map((t) => {
          const row = document.createElement('tr');
          row.dataset.sensor = t.name;
          row.innerHTML = '<td><span class="swatch"></span></td><td></td>' + '<td></td>'.repeat(7);
          (row.querySelector('.swatch') as HTMLElement).style.background = t.color;
          row.children[1]!.textContent = t.name;
          return row;
        }),
      );
      $('empty').hidden = this.tracks.size > 0;
    }
    for (const row of body.rows) {
      const t = this.tracks.get(row.dataset.sensor ?? '');
      if (t === undefined) continue;
      const unit = unitOf(t.info);
      const cells = row.cells;
      const loss = t.info?.loss;
      const text = [
        fmt(t.last) + (unit && ` ${unit}`),
        fmt(t.min),
        fmt(t.max),
        String(loss?.lost ?? '–'),
        String(loss?.duplicate ?? '–'),
        String(loss?.late ?? '–'),
        String(loss?.restarts ?? '–'),
      ];
      text.forEach((s, i) => {
        const cell = cells[i + 2]!;
        if (cell.textContent !== s) cell.textContent = s;
        if (i >= 3) cell.classList.toggle('loss', s !== '0' && s !== '–');
      });
    }
  }

  // ---- controls --------------------------------------------------------------------

  #wire(): void {
    const input = $<HTMLInputElement>('pattern');
    input.addEventListener('input', () => input.setCustomValidity(''));
    $<HTMLFormElement>('pick').addEventListener('submit', (e) => {
      e.preventDefault();
      const value = input.value.trim() === '' ? '*' : input.value.trim();
      if (!PATTERN.test(value)) {
        input.setCustomValidity('A sensor name or pattern: letters, digits, _ . - / and *');
        input.reportValidity();
        return;
      }
      this.pattern = value;
      this.stream.close();
      this.tracks = new Map();
      this.stream = this.#openStream();
      this.#saveUrl();
      void this.resume();
    });
    for (const button of document.querySelectorAll<HTMLButtonElement>('#windows button')) {
      button.addEventListener('click', () => {
        this.windowKey = button.dataset.window ?? '10m';
        this.#saveUrl();
        void this.resume();
      });
    }
    $('resume').addEventListener('click', () => void this.resume());
    $('csv').addEventListener('click', () => this.#download());
    new ResizeObserver(() => {
      this.plot?.setSize({ width: this.#chart.clientWidth, height: this.#chart.clientHeight });
      this.markDirty();
    }).observe(this.#chart);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      this.#rebuild(true);
      this.markDirty();
    });
  }

  /** Drag pans, wheel and pinch zoom (each pauses), double-click resumes. */
  #wirePlot(plot: uPlot): void {
    const over = plot.over;
    const pointers = new Map<number, number>();
    let start: { x: number; min: number; max: number; dist: number } | undefined;
    let moved = false;
    const span = (): { min: number; max: number } => ({
      min: plot.scales.x?.min ?? this.view.from,
      max: plot.scales.x?.max ?? this.view.to,
    });
    const show = (min: number, max: number): void => {
      if (!(max > min)) return;
      this.#pause();
      plot.setScale('x', { min, max });
      this.view = { from: min, to: max };
      this.#scheduleLoad();
    };
    over.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      over.setPointerCapture(e.pointerId);
      pointers.set(e.pointerId, e.clientX);
      const xs = [...pointers.values()];
      start = { x: e.clientX, ...span(), dist: xs.length === 2 ? Math.abs(xs[0]! - xs[1]!) : 0 };
      moved = false;
    });
    over.addEventListener('pointermove', (e) => {
      if (start === undefined || !pointers.has(e.pointerId)) return;
      pointers.set(e.pointerId, e.clientX);
      const width = over.clientWidth || 1;
      const range = start.max - start.min;
      const xs = [...pointers.values()];
      if (xs.length === 2 && start.dist > 0) {
        const dist = Math.abs(xs[0]! - xs[1]!);
        const center = start.min + (((xs[0]! + xs[1]!) / 2 - over.getBoundingClientRect().left) / width) * range;
        const k = start.dist / Math.max(1, dist);
        moved = true;
        show(center - (center - start.min) * k, center + (start.max - center) * k);
        return;
      }
      const dx = e.clientX - start.x;
      if (!moved && Math.abs(dx) < 3) return;
      moved = true;
      const shift = (-dx / width) * range;
      show(start.min + shift, start.max + shift);
    });
    const up = (e: PointerEvent): void => {
      pointers.delete(e.pointerId);
      if (pointers.size === 0) start = undefined;
    };
    over.addEventListener('pointerup', up);
    over.addEventListener('pointercancel', up);
    over.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const { min, max } = span();
        const at = plot.posToVal(e.offsetX, 'x');
        const k = Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.002)));
        show(at - (at - min) * k, at + (max - at) * k);
      },
      { passive: false },
    );
    over.addEventListener('dblclick', () => void this.resume());
  }

  #pause(): void {
    if (!this.live) return;
    this.live = false;
    this.#syncControls();
  }

  /** Once panning or zooming stops, what is on screen is loaded (raw when short enough). */
  #scheduleLoad(): void {
    window.clearTimeout(this.#reload);
    this.#reload = window.setTimeout(() => void this.load(this.view.from, this.view.to), 300);
  }

  #syncControls(): void {
    for (const button of document.querySelectorAll<HTMLButtonElement>('#windows button')) {
      button.setAttribute('aria-pressed', String(button.dataset.window === this.windowKey));
    }
    $('resume').hidden = this.live;
    const drawn = this.tracks.size;
    const more = this.matching > drawn ? ` · showing ${drawn} of ${this.matching}: refine the pattern` : '';
    $('mode').textContent =
      `${this.live ? 'live' : 'paused'} · ${this.mode === 'raw' ? 'raw readings' : 'min/max buckets'}${more}`;
  }

  #showState(): void {
    const status = $('status');
    const reachable = this.streamState === 'open' && this.apiOk;
    const state = reachable ? 'open' : this.streamState === 'open' ? 'unreachable' : this.streamState;
    status.dataset.state = state;
    status.textContent = {
      open: 'live',
      connecting: 'connecting…',
      down: 'disconnected',
      unreachable: 'server unreachable',
    }[state]!;
    // The banner waits a moment, so that a quick reconnect does not flash it.
    if (reachable) {
      this.#downSince = undefined;
      $('banner').hidden = true;
    } else {
      const since = (this.#downSince ??= performance.now());
      window.setTimeout(() => {
        if (this.#downSince === since) $('banner').hidden = false;
      }, 1500);
    }
  }

  #saveUrl(): void {
    const params = new URLSearchParams();
    if (this.pattern !== '*') params.set('pattern', this.pattern);
    params.set('window', this.windowKey);
    history.replaceState(null, '', `?${params.toString()}`);
  }

  #download(): void {
    const blob = new Blob([this.csv()], { type: 'text/csv' });
    const a = document.createElement('a');
    const x = this.plot?.scales.x;
    const safe = this.pattern.replace(/[^A-Za-z0-9_.-]+/g, '_');
    a.href = URL.createObjectURL(blob);
    a.download = `opc-${safe}-${Math.round(x?.min ?? 0)}-${Math.round(x?.max ?? 0)}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }
}

declare global {
  interface Window {
    /** The page, for tests and for a look from the console: `__opc.plot.data`, `__opc.live`, `__opc.csv()`. */
    __opc: Page;
  }
}

window.__opc = new Page();
