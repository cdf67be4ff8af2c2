/**
 * `POST /api/write` (docs/HTTP.md, "POST /api/write"): native lines, StatsD gauges or bare numbers, one per line,
 * parsed and counted exactly as a UDP datagram's are (`server.ingest`, docs/PROTOCOL.md, "UDP ingest"). Every
 * line stands alone, as on UDP: the good lines of a body are stored even when others are refused, and then the
 * answer is 400 naming the refused ones. A duplicate sender-seq is not an error: the reading is already stored,
 * so a retried write succeeds.
 */
import type { IncomingMessage } from 'node:http';
import type { IngestResult, OpcServer } from '@opc-lite/opc-server';
import { HttpError } from './errors.js';

/**
 * Reads a request body of at most `maxBytes`.
 *
 * @throws HttpError 413 `payload-too-large` past `maxBytes` (told by `Content-Length` before anything is read),
 *   415 for a `Content-Encoding` other than `identity`.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): HttpError =>
    new HttpError(413, 'payload-too-large', `the body is over ${maxBytes} bytes; send the lines in several writes`, {
      headers: { Connection: 'close' },
    });
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return Promise.reject(
      new HttpError(415, 'unsupported-media-type', `Content-Encoding ${encoding} is not accepted; send plain text`, {
        headers: { Connection: 'close' },
      }),
    );
  }
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume(); // the rest is discarded; the connection closes after the answer
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= maxBytes) resolve(Buffer.concat(chunks, size));
    });
    req.once('error', (err) => reject(new HttpError(400, 'bad-args', 'the body could not be read', { cause: err })));
  });
}

/**
 * The answer of a write: 200 `{ accepted, duplicates }`, or 400 with the refused lines and their reasons.
 *
 * @example
 * ```ts
 * writeLines(server, Buffer.from('ramp 0.5\nramp nan'), 'http 127.0.0.1:50000').status; // 400
 * ```
 */
export function writeLines(
  server: OpcServer,
  body: Buffer,
  remote: string,
): { status: number; json: Record<string, unknown> } {
  const w = countedIngest(server, () => server.ingest(body, { remote }));
  if (w.rejected === 0) return { status: 200, json: { accepted: w.accepted, duplicates: w.duplicates } };
  const { accepted, rejected, duplicates, lines, message } = w;
  return {
    status: 400,
    json: { error: { code: 'rejected', message }, accepted, rejected, duplicates, lines },
  };
}

/** What a write stored and refused, a duplicate sender-seq not counted as refused; `message` names the first. */
export interface CountedIngest {
  accepted: number;
  rejected: number;
  duplicates: number;
  lines: IngestResult['samples'];
  message: string;
}

/**
 * Runs an ingest and tells it as a write's answer does (here and in `POST /write`, `/api/v2/write`): a reading
 * already stored under its sender-seq is a duplicate, not a refusal, so a retried write succeeds.
 */
export function countedIngest(server: OpcServer, ingest: () => IngestResult): CountedIngest {
  const duplicatesBefore = server.store.loss.duplicate;
  const result = ingest();
  const duplicates = server.store.loss.duplicate - duplicatesBefore;
  const rejected = result.rejected - duplicates;
  const lines = result.samples.filter((s) => s.reason !== 'duplicate');
  const first = lines[0];
  const shown = first === undefined ? '' : `: ${first.reason} ${JSON.stringify(first.line.slice(0, 200))}`;
  const message =
    `${rejected} line${rejected === 1 ? '' : 's'} rejected${shown}` +
    `${rejected > 1 ? ' (the first shown; see lines)' : ''}; ${result.accepted} stored`;
  return { accepted: result.accepted, rejected, duplicates, lines, message };
}
