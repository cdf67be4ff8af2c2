import type { ReadingBatch } from '../codec/batch.js';
import type { ApplyFn, Logger } from '../link/options.js';

/** One logged line of a {@link MemoryLogger}. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: object;
}

/** A {@link Logger} that keeps every line, for assertions. */
export interface MemoryLogger extends Logger {
  readonly lines: LogLine[];
  /** The lines of one level whose message matches. */
  find(level: LogLine['level'], pattern: RegExp): LogLine[];
}

/**
 * A logger that records what it is given.
 *
 * @example
 * ```ts
 * const logger = memoryLogger();
 * const link = createClusterLink({ servers, nodeName: 'a', apply, logger });
 * await vi.waitFor(() => expect(logger.find('warn', /cannot reach NATS/)).toHaveLength(1));
 * ```
 */
export function memoryLogger(): MemoryLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: object | string, msg?: string): void => {
      lines.push(typeof obj === 'string' ? { level, msg: obj, obj: {} } : { level, msg: msg ?? '', obj });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    find: (level, pattern) => lines.filter((l) => l.level === level && pattern.test(l.msg)),
  };
}

/** One applied batch as an {@link ApplyRecorder} saw it. */
export interface AppliedBatch {
  streamSeq: number;
  origin: string;
  batchSeq: number;
  values: number[];
}

/** An `apply` callback that records every batch, and what it saw as plain data. */
export interface ApplyRecorder {
  apply: ApplyFn;
  readonly batches: AppliedBatch[];
  /** `streamSeq:origin:batchSeq` per batch, in the order applied. */
  order(): string[];
  /** The values of every reading from `origin`, in the order applied. */
  values(origin: string): number[];
  /** Readings applied. */
  readonly readings: number;
}

/**
 * Records what a link applies.
 *
 * @example
 * ```ts
 * const seen = recordApplied();
 * const link = createClusterLink({ servers, nodeName: 'a', apply: seen.apply });
 * ```
 */
export function recordApplied(): ApplyRecorder {
  const batches: AppliedBatch[] = [];
  let readings = 0;
  return {
    batches,
    apply(batch: ReadingBatch, streamSeq: number) {
      batches.push({ streamSeq, origin: batch.origin, batchSeq: batch.batchSeq, values: Array.from(batch.values) });
      readings += batch.length;
    },
    order: () => batches.map((b) => `${b.streamSeq}:${b.origin}:${b.batchSeq}`),
    values: (origin) => batches.filter((b) => b.origin === origin).flatMap((b) => b.values),
    get readings() {
      return readings;
    },
  };
}
