import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveStream, type StreamState } from './live.js';

/** An EventSource that the test drives: it records what the page opens and closes. */
class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static opened: FakeEventSource[] = [];
  readyState = FakeEventSource.CONNECTING;
  readonly #listeners = new Map<string, Array<(e: unknown) => void>>();

  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }

  addEventListener(type: string, listener: (e: unknown) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }

  emit(type: string, data = '', lastEventId = ''): void {
    if (type === 'open') this.readyState = FakeEventSource.OPEN;
    for (const listener of this.#listeners.get(type) ?? []) listener({ data, lastEventId });
  }
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeEventSource.opened = [];
  vi.stubGlobal('EventSource', FakeEventSource);
  vi.stubGlobal('window', globalThis);
  vi.stubGlobal('sessionStorage', { getItem: () => null });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function start(): { live: LiveStream; states: StreamState[]; source: FakeEventSource } {
  const states: StreamState[] = [];
  const live = new LiveStream('*', { readings: () => undefined, state: (s) => states.push(s), clock: () => undefined });
  const source = FakeEventSource.opened[0]!;
  source.emit('open');
  source.emit('hello', JSON.stringify({ now: 0, heartbeatMs: 15_000 }), 'a:1');
  return { live, states, source };
}

describe('the page stream (docs/HTTP.md, "GET /api/stream")', () => {
  it('does not reopen a stream the server ended with a closed event', async () => {
    const { live, states, source } = start();
    source.emit(
      'closed',
      JSON.stringify({ error: { code: 'auth-failed', message: 'token viewer is no longer valid' } }),
    );
    expect(source.readyState).toBe(FakeEventSource.CLOSED);
    expect(states.at(-1)).toBe('down');
    source.emit('error');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeEventSource.opened).toHaveLength(1);
    live.close();
  });

  it('reopens, with the last id, one the browser gave up on for another reason', async () => {
    const { live, source } = start();
    source.close();
    source.emit('error');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(FakeEventSource.opened).toHaveLength(2);
    expect(FakeEventSource.opened[1]!.url).toBe('/api/stream?pattern=*&after=a%3A1');
    live.close();
  });
});
