/**
 * The page's requests to the HTTP API (docs/HTTP.md): `/api/sensors` and `/api/range`, as JSON.
 */
import type { Bucket } from './series.js';

/** A sensor, as `/api/sensors` describes it. */
export interface SensorInfo {
  name: string;
  value: number | null;
  ts: number | null;
  seq: number;
  count: number;
  loss: { lost: number; duplicate: number; late: number; restarts: number };
  /** Not sent by the server yet: the hook for a sensor's unit when it gets one. */
  unit?: string;
}

/** Raw readings of `/api/range`. */
export interface RawAnswer {
  sensor: string;
  from: number;
  to: number;
  readings: { ts: number; value: number; seq: number }[];
  more: number | null;
}

/** Buckets of `/api/range?points=`. */
export interface BucketAnswer {
  sensor: string;
  from: number;
  to: number;
  points: number;
  buckets: Bucket[];
}

/** An answer other than 2xx, with the server's `{ error: { code, message } }` when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'opc-lite-token';

/** The token this tab was given (docs/SECURITY.md, "Tokens on HTTP"), kept for the tab's life only. */
export function pageToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

async function getJson<T>(url: string, signal?: AbortSignal, asked = false): Promise<T> {
  const token = pageToken();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { signal: signal ?? null, headers });
  if (res.status === 401 && !asked) {
    // The server checks tokens: ask for one once, and try again with it.
    const given = window.prompt('This opc-lite server needs a token (docs/SECURITY.md). Token:')?.trim();
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given);
      return getJson<T>(url, signal, true);
    }
  }
  if (!res.ok) {
    let code = 'http';
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, code, message);
  }
  return (await res.json()) as T;
}

/** A span for a query: whole milliseconds within the protocol's bounds, covering [from, to]. */
const span = (from: number, to: number): string => {
  const clamp = (t: number): number => Math.min(99_999_999_999_999, Math.max(0, t));
  return `from=${clamp(Math.floor(from))}&to=${clamp(Math.ceil(to))}`;
};

export function fetchSensors(pattern: string, signal?: AbortSignal): Promise<{ sensors: SensorInfo[] }> {
  return getJson(`/api/sensors?pattern=${encodeURIComponent(pattern)}`, signal);
}

export function fetchRaw(
  sensor: string,
  from: number,
  to: number,
  limit: number,
  signal?: AbortSignal,
): Promise<RawAnswer> {
  const q = `sensor=${encodeURIComponent(sensor)}&${span(from, to)}&limit=${limit}`;
  return getJson(`/api/range?${q}`, signal);
}

export function fetchBuckets(
  sensor: string,
  from: number,
  to: number,
  points: number,
  signal?: AbortSignal,
): Promise<BucketAnswer> {
  const q = `sensor=${encodeURIComponent(sensor)}&${span(from, to)}&points=${points}`;
  return getJson(`/api/range?${q}`, signal);
}
