/**
 * InfluxDB's write endpoints (docs/INGEST.md, "InfluxDB line protocol over HTTP"): `POST /write` (v1, `db`, `rp`,
 * `u` accepted and ignored, `p` the token) and `POST /api/v2/write` (v2, `org`, `orgID` and `bucket` accepted and ignored),
 * both with `precision`. The body is line protocol, read by `parseInfluxLines` (packages/protocol/README.md,
 * "InfluxDB line protocol") and stored through `server.ingestFrom(..., { source: 'http' })`, as every source's
 * readings are. As InfluxDB does, a write that stores everything is answered 204; one with refused lines stores the
 * good ones and is answered 400 naming the first refused line and its reason. A body may be gzip-encoded (the
 * official clients compress bodies over 1 KiB); it is inflated up to `maxBodyBytes`, past which it is 413, as a
 * plain body that large is.
 */
import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import type { OpcServer } from '@opc-lite/opc-server';
import { parseInfluxLines, type InfluxPrecision } from '@opc-lite/protocol';
import { HttpError } from './errors.js';
import { countedIngest } from './write.js';

/**
 * The `precision` values each endpoint takes, and the unit they stand for.
 *
 * @example
 * ```ts
 * INFLUX_PRECISIONS.v1.u; // 'us'
 * ```
 */
export const INFLUX_PRECISIONS: Readonly<Record<'v1' | 'v2', Readonly<Record<string, InfluxPrecision>>>> =
  Object.freeze({
    v1: Object.freeze({ n: 'ns', ns: 'ns', u: 'us', us: 'us', ms: 'ms', s: 's' }),
    v2: Object.freeze({ ns: 'ns', us: 'us', ms: 'ms', s: 's' }),
  });

/** The query arguments each endpoint accepts (those other than `precision` are ignored). */
export const INFLUX_ARGS: Readonly<Record<'v1' | 'v2', readonly string[]>> = Object.freeze({
  v1: Object.freeze(['db', 'rp', 'precision', 'u', 'p', 'consistency']),
  v2: Object.freeze(['org', 'orgID', 'bucket', 'precision']),
});

/**
 * The timestamp unit of a write: `precision` from the query, nanoseconds without one.
 *
 * @throws HttpError 400 `bad-args` for an unknown query argument or precision.
 * @example
 * ```ts
 * influxPrecision(new URLSearchParams('bucket=home&precision=s'), 'v2'); // 's'
 * ```
 */
export function influxPrecision(query: URLSearchParams, version: 'v1' | 'v2'): InfluxPrecision {
  for (const key of query.keys()) {
    if (!INFLUX_ARGS[version].includes(key)) {
      throw new HttpError(
        400,
        'bad-args',
        `unknown argument '${key.slice(0, 40)}' (known: ${INFLUX_ARGS[version].join(', ')})`,
      );
    }
  }
  const given = query.get('precision');
  if (given === null || given === '') return 'ns';
  const precision = INFLUX_PRECISIONS[version][given];
  if (precision === undefined) {
    throw new HttpError(
      400,
      'bad-args',
      `precision must be one of ${Object.keys(INFLUX_PRECISIONS[version]).join(', ')} (got '${given.slice(0, 40)}')`,
    );
  }
  return precision;
}

const INFLUX_AUTH_HELP = 'expected Authorization: Token <token>, Bearer <token> or Basic <user:token>';
const TOKEN = /^[\x21-\x7e]{1,256}$/;

/**
 * The token of an InfluxDB write (docs/SECURITY.md, "InfluxDB clients"): from `Authorization: Token <token>`
 * (the v2 clients) or `Bearer <token>`, the password of `Authorization: Basic`, or on v1 the `p` argument (`u` is
 * ignored); the header wins over `p`. Undefined when none was sent.
 *
 * @throws HttpError 401 `auth-failed` for a malformed header or password.
 * @example
 * ```ts
 * influxToken('Token writer-token', new URLSearchParams(), 'v2'); // 'writer-token'
 * influxToken(undefined, new URLSearchParams('u=me&p=writer-token'), 'v1'); // 'writer-token'
 * ```
 */
export function influxToken(
  header: string | undefined,
  query: URLSearchParams,
  version: 'v1' | 'v2',
): string | undefined {
  const malformed = (): HttpError =>
    new HttpError(401, 'auth-failed', INFLUX_AUTH_HELP, {
      headers: { 'WWW-Authenticate': 'Bearer realm="opc-lite", error="invalid_request"' },
    });
  let token: string | undefined;
  if (header !== undefined) {
    const m = /^(Token|Bearer|Basic) +(\S+) *$/i.exec(header);
    if (m === null) throw malformed();
    token = m[2] ?? '';
    if (m[1]?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw malformed();
      token = decoded.slice(colon + 1);
    }
  } else if (version === 'v1') {
    const p = query.get('p');
    if (p === null || p === '') return undefined;
    token = p;
  } else return undefined;
  if (!TOKEN.test(token)) throw malformed();
  return token;
}

/**
 * Reads a write body, plain or gzip-encoded, of at most `maxBytes` as sent and as inflated.
 *
 * @throws HttpError 413 `payload-too-large` past `maxBytes`, 400 `bad-args` for gzip that does not inflate,
 *   415 for another `Content-Encoding`.
 * @example
 * ```ts
 * const body = await readInfluxBody(req, 1024 * 1024);
 * ```
 */
export function readInfluxBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = (what: string): HttpError =>
    new HttpError(
      413,
      'payload-too-large',
      `the body is over ${maxBytes} bytes${what}; send the lines in several writes`,
      {
        headers: { Connection: 'close' },
      },
    );
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    req.resume();
    return Promise.reject(
      new HttpError(
        415,
        'unsupported-media-type',
        `Content-Encoding ${encoding.slice(0, 40)} is not accepted; send gzip or plain text`,
        {
          headers: { Connection: 'close' },
        },
      ),
    );
  }
  if (Number(req.headers['content-length']) > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge(''));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: HttpError | undefined): void => {
      if (done) return;
      done = true;
      if (err === undefined) resolve(Buffer.concat(chunks, size));
      else {
        req.unpipe();
        req.resume(); // the rest is discarded; the connection closes after the answer
        reject(err);
      }
    };
    const source = encoding === 'gzip' ? req.pipe(zlib.createGunzip()) : req;
    let sent = 0;
    if (source !== req) {
      req.on('data', (chunk: Buffer) => {
        sent += chunk.length;
        if (sent > maxBytes) finish(tooLarge(''));
      });
    }
    source.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        finish(tooLarge(source === req ? '' : ' once inflated'));
        if (source !== req) (source as zlib.Gunzip).destroy();
        return;
      }
      chunks.push(chunk);
    });
    source.once('end', () => finish(undefined));
    source.once('error', (err) =>
      finish(new HttpError(400, 'bad-args', `the gzip body does not inflate: ${err.message}`, { cause: err })),
    );
    req.once('error', (err) => finish(new HttpError(400, 'bad-args', 'the body could not be read', { cause: err })));
  });
}

/**
 * Stores the line protocol of a write body; the answer: 204 when every line was taken, 400 naming the first
 * refused line and its reason otherwise (the good lines are stored either way, as InfluxDB does).
 *
 * @example
 * ```ts
 * writeInflux(server, Buffer.from('weather,site=roof temp=21.5'), 'ns', 'http 127.0.0.1:50000').status; // 204
 * ```
 */
export function writeInflux(
  server: OpcServer,
  body: Buffer,
  precision: InfluxPrecision,
  remote: string,
): { status: number; json?: Record<string, unknown> } {
  const w = countedIngest(server, () =>
    server.ingestFrom((sink) => parseInfluxLines(body, sink, { precision }), { source: 'http', remote }),
  );
  if (w.rejected === 0) return { status: 204 };
  const { accepted, rejected, lines, message } = w;
  // `code` and `message` at the top level too: the InfluxDB clients show those.
  return {
    status: 400,
    json: {
      code: 'invalid',
      message,
      error: { code: 'rejected', message },
      accepted,
      rejected,
      lines,
    },
  };
}
