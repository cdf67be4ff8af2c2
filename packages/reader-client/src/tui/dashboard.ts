/**
 * The ready-made dashboard: the chart, a table with one row per sensor
 * (last, min, max, rate, lost) and a status line (server, mode, connection),
 * with keys q / Ctrl-C (quit), p (pause), + / - (window).
 *
 * How it works: readings (from a subscription, a poll loop, any async
 * iterable, or `push`) only go into the chart's ring buffers and mark the
 * frame dirty; one FrameScheduler redraws chart, table and status at most
 * every `frameIntervalMs` and only when something changed, so a 10 kHz
 * sensor costs a buffer write per reading and 20 renders a second at most.
 * The dashboard mounts in a screen it is given (or creates one), and on quit
 * destroys only what it created.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import type { Reading } from '@opc-lite/protocol';
import { pollEvery } from '../poll-loop.js';
import { CHART_DEFAULTS, createChart } from './chart.js';
import type { Chart } from './chart.js';
import { FrameScheduler } from './frame.js';
import type { SeriesStats } from './series.js';

/**
 * What the dashboard needs of a client: an `OpcClient` from
 * `@opc-lite/reader-client` fits.
 *
 * @example
 * ```ts
 * const client: DashboardClient = await connect({ reconnect: true });
 * ```
 */
export interface DashboardClient {
  readonly host: string;
  readonly port: number;
  readonly state: string;
  poll(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<number>;
  get(name: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Reading>;
  subscribe(pattern: string, options?: { backlog?: number; signal?: AbortSignal }): AsyncIterable<Reading>;
  on(event: 'connect' | 'disconnect' | 'reconnecting' | 'close', listener: (info?: unknown) => void): unknown;
  off(event: 'connect' | 'disconnect' | 'reconnecting' | 'close', listener: (info?: unknown) => void): unknown;
}

/**
 * Options of {@link createDashboard}.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = { client, mode: 'subscribe', pattern: 'ramp*', window: 50, yMin: 0, yMax: 1 };
 * ```
 */
export interface DashboardOptions {
  /** A connected client to read from, in `mode`. */
  client?: DashboardClient;
  /** Or any source of readings (the dashboard just draws what it yields). */
  source?: AsyncIterable<Reading>;
  /** The screen to mount in; one is created (and destroyed on quit) when omitted. */
  screen?: Widgets.Screen;
  /** A box inside `screen` to fill instead of the whole screen. */
  parent?: Widgets.Node;
  /** Options for the screen the dashboard creates, when it creates one. */
  screenOptions?: Widgets.IScreenOptions;
  /** Sensors to show. In poll mode each is read with GET; without, the legacy `n` poll reads sensor `default`. */
  sensors?: readonly string[];
  /** Subscribe mode: the pattern to subscribe to when neither `patterns` nor `sensors` are given. Default '*'. */
  pattern?: string;
  /** Subscribe mode: several patterns, one subscription each. Default: `sensors`, else `[pattern]`. */
  patterns?: readonly string[];
  /** Subscribe mode: recent readings per sensor asked for when subscribing. Default: the window. */
  backlog?: number;
  /** 'subscribe' (every reading, pushed) or 'poll' (one reading per interval, as the original lector). Default 'subscribe'. */
  mode?: 'poll' | 'subscribe';
  /** Poll mode: time between polls, in ms. Default 1000. */
  intervalMs?: number;
  /** Readings shown per sensor. Default 20. */
  window?: number;
  yMin?: number;
  yMax?: number;
  timeLabels?: 'clock' | 'relative';
  /** Title of the chart. */
  title?: string;
  /** Server as shown in the status line. Default: the client's host:port. */
  server?: string;
  /** Minimum time between two renders, in ms. Default 50 (at most 20 frames/s). */
  frameIntervalMs?: number;
  /** Bind q / C-c, p, + / - on the screen. Default true. */
  keys?: boolean;
}

/**
 * The dashboard returned by {@link createDashboard}.
 *
 * @example
 * ```ts
 * const dashboard = createDashboard({ client, mode: 'poll', intervalMs: 1000 });
 * await dashboard.done; // q or Ctrl-C
 * await client.close();
 * ```
 */
export interface Dashboard {
  readonly screen: Widgets.Screen;
  readonly chart: Chart;
  /** Settles when the dashboard is destroyed: after q / Ctrl-C, or `destroy()`. */
  readonly done: Promise<void>;
  readonly paused: boolean;
  /** Renders drawn so far. */
  readonly frames: number;
  /** Adds a reading (for dashboards without a client or source). */
  push(reading: Reading): void;
  /** Freezes the chart and table (readings are still recorded), or thaws them. */
  setPaused(paused: boolean): void;
  setWindow(n: number): void;
  /** Draws now instead of on the next frame. */
  render(): void;
  /** Stops reading, unbinds the keys, removes the widgets; destroys the screen if the dashboard created it. */
  destroy(): void;
}

/** Rows of the sensor table at most (more sensors scroll out of view). */
const MAX_TABLE_ROWS = 8;

/** A number in at most `width` characters: 6 significant digits, exponent form when long; '-' for NaN. */
export function formatFigure(v: number, width = 10): string {
  if (Number.isNaN(v)) return '-';
  const plain = String(Number(v.toPrecision(6)));
  return plain.length <= width ? plain : v.toExponential(Math.max(0, width - 7));
}

function formatRate(v: number): string {
  if (Number.isNaN(v)) return '-';
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

/** The sensor table's text: a header and one row per sensor. */
export function tableText(stats: readonly SeriesStats[], width: number): string {
  const nameWidth = Math.min(24, Math.max(6, ...stats.map((s) => s.name.length)));
  const cols = [nameWidth, 11, 11, 11, 9, 8];
  const row = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.slice(0, cols[0]).padEnd(cols[0] ?? 0) : c.padStart(cols[i] ?? 0)))
      .join(' ')
      .slice(0, Math.max(0, width));
  const lines = [row(['sensor', 'last', 'min', 'max', 'rate/s', 'lost'])];
  for (const s of stats) {
    lines.push(
      row([
        s.name,
        formatFigure(s.last),
        formatFigure(s.min),
        formatFigure(s.max),
        formatRate(s.ratePerSec),
        Number.isNaN(s.lost) ? '-' : String(s.lost),
      ]),
    );
  }
  return lines.join('\n');
}

class DashboardImpl implements Dashboard {
  readonly screen: Widgets.Screen;
  readonly chart: Chart;
  readonly done: Promise<void>;
  readonly #ownScreen: boolean;
  readonly #container: Widgets.BoxElement;
  readonly #table: Widgets.BoxElement;
  readonly #status: Widgets.BoxElement;
  readonly #scheduler: FrameScheduler;
  readonly #abort = new AbortController();
  readonly #client: DashboardClient | undefined;
  readonly #modeText: string;
  readonly #server: string;
  readonly #keys: boolean;
  #resolveDone!: () => void;
  #paused = false;
  #destroyed = false;
  #connection: string;
  #note = '';
  #tableRows: number;
  #backlog: number | undefined;

  constructor(options: DashboardOptions) {
    const mode = options.mode ?? 'subscribe';
    if (mode !== 'poll' && mode !== 'subscribe') throw new TypeError(`mode must be 'poll' or 'subscribe'`);
    const intervalMs = options.intervalMs ?? 1000;
    if (!(intervalMs >= 1) || !Number.isFinite(intervalMs))
      throw new RangeError('intervalMs must be a finite number >= 1');
    const frameIntervalMs = options.frameIntervalMs ?? CHART_DEFAULTS.frameIntervalMs;
    if (!(frameIntervalMs >= 1) || !Number.isFinite(frameIntervalMs)) {
      throw new RangeError('frameIntervalMs must be a finite number >= 1');
    }
    if (options.client && options.source) throw new TypeError('give either client or source, not both');
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#client = options.client;
    this.#keys = options.keys ?? true;
    this.#ownScreen = !options.screen;
    this.screen = options.screen ?? blessed.screen({ smartCSR: true, title: 'opc-reader', ...options.screenOptions });
    const parent = options.parent ?? this.screen;

    const sensors = options.sensors ?? [];
    const patterns =
      options.patterns && options.patterns.length > 0
        ? [...options.patterns]
        : sensors.length > 0
          ? [...sensors]
          : [options.pattern ?? '*'];
    if (options.backlog !== undefined && !(Number.isInteger(options.backlog) && options.backlog >= 0)) {
      throw new RangeError('backlog must be an integer >= 0');
    }
    this.#backlog = options.backlog;
    this.#modeText = options.client
      ? mode === 'subscribe'
        ? `subscribe ${patterns.join(' ')}`
        : `poll ${sensors.length > 0 ? sensors.join(' ') : 'n'} every ${intervalMs / 1000}s`
      : options.source
        ? 'stream'
        : 'local';
    this.#server = options.server ?? (options.client ? `${options.client.host}:${options.client.port}` : '-');
    this.#connection = options.client ? options.client.state : 'n/a';
    this.#tableRows = Math.min(MAX_TABLE_ROWS, Math.max(1, sensors.length || 1));

    this.#scheduler = new FrameScheduler(() => this.#draw(), frameIntervalMs);
    this.#container = blessed.box({ top: 0, left: 0, width: '100%', height: '100%' });
    parent.append(this.#container);
    this.chart = createChart({
      parent: this.#container,
      top: 0,
      left: 0,
      width: '100%',
      height: this.#chartHeight(),
      window: options.window ?? CHART_DEFAULTS.window,
      ...(options.yMin === undefined ? {} : { yMin: options.yMin }),
      ...(options.yMax === undefined ? {} : { yMax: options.yMax }),
      ...(options.timeLabels === undefined ? {} : { timeLabels: options.timeLabels }),
      label: ` ${options.title ?? 'readings'} `,
      // A poll samples the latest reading, so the seq jumps between polls are readings skipped, not lost.
      trackSeq: !(options.client && mode === 'poll'),
      frameIntervalMs,
      onChange: () => {
        if (!this.#paused) this.#scheduler.invalidate();
      },
    });
    this.#table = blessed.box({
      parent: this.#container,
      bottom: 1,
      left: 0,
      width: '100%',
      height: this.#tableRows + 3,
      label: ' sensors ',
      border: { type: 'line' },
      style: { border: { fg: 'cyan' } },
    });
    this.#status = blessed.box({
      parent: this.#container,
      bottom: 0,
      left: 0,
      width: '100%',
      height: 1,
      style: { fg: 'black', bg: 'cyan' },
    });

    if (this.#keys) {
      this.screen.key(['q', 'C-c'], this.#onQuit);
      this.screen.key(['p'], this.#onPause);
      this.screen.key(['+', '='], this.#onGrow);
      this.screen.key(['-', '_'], this.#onShrink);
    }
    if (this.#client) {
      for (const event of ['connect', 'disconnect', 'reconnecting', 'close'] as const) {
        this.#client.on(event, this.#onClientEvent);
      }
      if (mode === 'subscribe') for (const p of patterns) void this.#consumeSubscription(this.#client, p);
      else this.#startPolling(this.#client, sensors, intervalMs);
    } else if (options.source) {
      void this.#consume(options.source);
    }
    this.#scheduler.invalidate();
  }

  get paused(): boolean {
    return this.#paused;
  }

  get frames(): number {
    return this.#scheduler.frames;
  }

  push(reading: Reading): void {
    this.chart.push(reading.name, reading);
  }

  setPaused(paused: boolean): void {
    this.#paused = paused;
    this.#scheduler.invalidate();
  }

  setWindow(n: number): void {
    this.chart.setWindow(n);
    this.#scheduler.invalidate();
  }

  render(): void {
    if (this.#destroyed) return;
    this.#scheduler.cancel();
    this.#draw();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#abort.abort();
    this.#scheduler.stop();
    if (this.#client) {
      for (const event of ['connect', 'disconnect', 'reconnecting', 'close'] as const) {
        this.#client.off(event, this.#onClientEvent);
      }
    }
    if (this.#keys) {
      this.screen.unkey('q', this.#onQuit);
      this.screen.unkey('C-c', this.#onQuit);
      this.screen.unkey('p', this.#onPause);
      this.screen.unkey('+', this.#onGrow);
      this.screen.unkey('=', this.#onGrow);
      this.screen.unkey('-', this.#onShrink);
      this.screen.unkey('_', this.#onShrink);
    }
    this.chart.destroy();
    this.#container.destroy();
    // Restores the terminal (normal buffer, cursor, echo) when the screen is ours.
    if (this.#ownScreen) this.screen.destroy();
    else this.screen.render();
    this.#resolveDone();
  }

  #chartHeight(): string {
    return `100%-${this.#tableRows + 4}`;
  }

  #draw(): void {
    if (this.#destroyed) return;
    if (!this.#paused) {
      const stats = this.chart.stats();
      const rows = Math.min(MAX_TABLE_ROWS, Math.max(1, stats.length));
      if (rows > this.#tableRows) {
        // More sensors than rows: grow the table, shrink the chart.
        this.#tableRows = rows;
        this.#table.height = rows + 3;
        this.chart.element.height = this.#chartHeight();
        this.chart.element.emit('attach');
      }
      this.chart.update();
      const inner = typeof this.#table.width === 'number' ? this.#table.width - 2 : 80;
      this.#table.setContent(tableText(stats, inner));
    }
    this.#status.setContent(this.#statusText());
    this.screen.render();
  }

  #statusText(): string {
    const connection = this.#note ? `${this.#connection}: ${this.#note}` : this.#connection;
    const parts = this.#client ? [this.#server, this.#modeText, connection] : [this.#modeText];
    if (!this.#client && this.#note) parts.push(this.#note);
    parts.push(`window ${this.chart.window}`);
    if (this.#paused) parts.push('PAUSED');
    if (this.#keys) parts.push('q quit  p pause  +/- window');
    return ` ${parts.join(' │ ')}`;
  }

  async #consumeSubscription(client: DashboardClient, pattern: string): Promise<void> {
    try {
      const sub = client.subscribe(pattern, {
        backlog: this.#backlog ?? this.chart.window,
        signal: this.#abort.signal,
      });
      for await (const reading of sub) this.chart.push(reading.name, reading);
    } catch (error) {
      this.#setNote(error);
    }
  }

  async #consume(source: AsyncIterable<Reading>): Promise<void> {
    try {
      for await (const reading of source) {
        if (this.#destroyed) break;
        this.chart.push(reading.name, reading);
      }
    } catch (error) {
      this.#setNote(error);
    }
  }

  #startPolling(client: DashboardClient, sensors: readonly string[], intervalMs: number): void {
    const signal = this.#abort.signal;
    const polling = pollEvery(
      client,
      {
        intervalMs,
        sensors,
        skipRepeats: true,
        signal,
        onMiss: (name, error) => {
          this.chart.markGap(name);
          if (error !== undefined) this.#setNote(error);
        },
      },
      (reading) => {
        // A legacy poll (docs/PROTOCOL.md, "Legacy poll") answers NaN while sensor `default` has no reading.
        if (Number.isNaN(reading.value)) this.chart.markGap(reading.name);
        else this.chart.push(reading.name, { ...reading, seq: reading.seq ?? Number.NaN });
        if (this.#note) this.#setNote(undefined);
      },
    );
    polling.catch((error: unknown) => this.#setNote(error));
  }

  #setNote(error: unknown): void {
    this.#note = error === undefined ? '' : error instanceof Error ? error.message : JSON.stringify(error);
    this.#scheduler.invalidate();
  }

  readonly #onClientEvent = (): void => {
    const state = this.#client?.state ?? 'n/a';
    this.#connection = state;
    if (state === 'connected') this.#note = '';
    this.#scheduler.invalidate();
  };

  readonly #onQuit = (): void => this.destroy();
  readonly #onPause = (): void => this.setPaused(!this.#paused);
  readonly #onGrow = (): void => this.setWindow(Math.min(CHART_DEFAULTS.maxWindow, this.chart.window * 2));
  readonly #onShrink = (): void => this.setWindow(Math.max(2, Math.floor(this.chart.window / 2)));
}

/**
 * Creates the dashboard: chart, sensor table and status line, fed by a
 * client (subscribe or poll mode), by any async iterable of readings, or by
 * `push`. Mounts in `screen` (or `parent`) when given, else creates a screen.
 * q / Ctrl-C destroy it (and its screen, if it created it); `done` settles
 * then. The client is not closed: it is the caller's.
 *
 * @example
 * ```ts
 * import { connect } from '@opc-lite/reader-client';
 * import { createDashboard } from '@opc-lite/reader-client/tui';
 *
 * const client = await connect({ port: 7330, reconnect: true });
 * const dashboard = createDashboard({ client, mode: 'subscribe', pattern: 'ramp*', yMin: 0, yMax: 1 });
 * await dashboard.done;
 * await client.close();
 * ```
 */
export function createDashboard(options: DashboardOptions = {}): Dashboard {
  return new DashboardImpl(options);
}
