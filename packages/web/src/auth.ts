/**
 * Tokens and rights over HTTP (docs/SECURITY.md, "Tokens on HTTP"): the same auth file, rights and per-address
 * failure limits as TCP, from `Authorization: Bearer <token>`.
 *
 * How it works: {@link HttpAuth.identify} turns a request into a {@link Who} (the token's name and rights, or
 * the anonymous rights without a header); the handler then asks {@link HttpAuth.require} for what each route
 * needs. A refusal is an {@link HttpError}: 401 with `WWW-Authenticate` when no token (or an unknown one) was
 * sent, 403 when the token lacks the right. A stream checks each reading against the rights in force when it
 * arrives, so a reload applies to streams already open, and {@link HttpAuth.watch} ends a stream whose token is
 * withdrawn or may read nothing any more.
 */
import type { IncomingMessage } from 'node:http';
import { addressOf, type Authenticator, type Rights } from '@opc-lite/opc-server';
import { parseDatagram, type DatagramSink } from '@opc-lite/protocol';
import { HttpError } from './errors.js';

/**
 * Who sent a request: a token's name, or anonymous (`name` undefined).
 *
 * @example
 * ```ts
 * const who: Who = { name: 'dashboard', rights, hash: '$scrypt$…' };
 * ```
 */
export interface Who {
  readonly name: string | undefined;
  readonly rights: Rights;
  /** The stored hash of the token, to tell after a reload whether it is still the same token. */
  readonly hash: string | undefined;
}

/** What a route needs. */
export type Need = 'admin' | 'read-any' | 'write-any' | { read: string };

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="opc-lite"' };

/**
 * The HTTP side of an {@link Authenticator}.
 *
 * @example
 * ```ts
 * const who = await httpAuth.identify(req);
 * httpAuth.require(who, { read: 'ramp' });
 * ```
 */
export class HttpAuth {
  readonly #auth: Authenticator;

  constructor(auth: Authenticator) {
    this.#auth = auth;
  }

  /**
   * The request's identity. `queryToken` is the `access_token` argument, taken only where a browser cannot send
   * a header (`/api/stream`, for `EventSource`).
   *
   * @throws HttpError 401 `auth-failed` for a token the server does not know or a malformed header, 429 when the
   *   address is refused.
   */
  async identify(req: IncomingMessage, queryToken?: string): Promise<Who> {
    const header = req.headers.authorization;
    let token: string | undefined;
    if (header !== undefined) {
      const m = /^Bearer +([\x21-\x7e]{1,256}) *$/i.exec(header);
      if (m === null) {
        throw new HttpError(401, 'auth-failed', 'expected Authorization: Bearer <token>', {
          headers: { 'WWW-Authenticate': 'Bearer realm="opc-lite", error="invalid_request"' },
        });
      }
      token = m[1];
    } else token = queryToken;
    return this.identifyToken(req, token);
  }

  /**
   * The identity of a token already taken from the request (the InfluxDB write routes read theirs from
   * `Authorization: Token`, Basic or `p=`: docs/SECURITY.md, "InfluxDB clients"); anonymous without one.
   *
   * @throws HttpError as {@link HttpAuth.identify} does.
   */
  async identifyToken(req: IncomingMessage, token: string | undefined): Promise<Who> {
    if (token === undefined) return { name: undefined, rights: this.#auth.config.anonymous, hash: undefined };
    const result = await this.#auth.check(token, addressOf(req.socket.remoteAddress ?? 'unknown'));
    if (result.ok) return { name: result.entry.name, rights: result.entry.rights, hash: result.entry.hash.text };
    if (result.blocked) {
      throw new HttpError(429, 'auth-failed', result.detail, {
        headers: { 'Retry-After': String(Math.ceil(this.#auth.limits.blockMs / 1000)) },
      });
    }
    throw new HttpError(401, 'auth-failed', result.detail, {
      headers: { 'WWW-Authenticate': 'Bearer realm="opc-lite", error="invalid_token"' },
    });
  }

  /**
   * Refuses a request without `need`: 401 `auth-required` for an anonymous one, 403 `forbidden` for a token.
   *
   * @throws HttpError
   */
  require(who: Who, need: Need): void {
    const r = who.rights;
    const [ok, anonymous, named] =
      need === 'admin'
        ? [r.admin, 'needs an admin token', 'is not admin']
        : need === 'read-any'
          ? [r.readsAny, 'needs a token that may read sensors', 'may read no sensor']
          : need === 'write-any'
            ? [r.write.length > 0, 'needs a token that may write sensors', 'may write no sensor']
            : [r.canRead(need.read), `needs a token that may read ${need.read}`, `may not read ${need.read}`];
    if (ok) return;
    if (who.name === undefined) {
      throw new HttpError(401, 'auth-required', `this request ${anonymous}`, { headers: CHALLENGE });
    }
    throw new HttpError(403, 'forbidden', `token ${who.name} ${named}`);
  }

  /**
   * Refuses a write body naming a sensor `who` may not write (403, or 401 when anonymous), before any line is
   * stored: a body is taken whole or not at all as far as rights go. `parse` reads the body's sensor names
   * (native lines by default; the InfluxDB routes pass their line protocol parser).
   */
  requireWrite(
    who: Who,
    body: Uint8Array,
    parse: (body: Uint8Array, sink: DatagramSink) => void = parseDatagram,
  ): void {
    let refused: string | undefined;
    const sink: DatagramSink = {
      reading: (name) => {
        if (refused === undefined && !who.rights.canWrite(name)) refused = name;
      },
      reject: () => undefined, // counted by the real ingest
    };
    parse(body, sink);
    if (refused === undefined) return;
    if (who.name === undefined) {
      throw new HttpError(401, 'auth-required', `writing ${refused} needs a token`, { headers: CHALLENGE });
    }
    throw new HttpError(403, 'forbidden', `token ${who.name} may not write ${refused}; nothing was stored`);
  }

  /**
   * Calls `end` once, after a reload, when `who` may no longer stream: its token is gone or has a new hash
   * (`auth-failed`, as TCP says it), or it may read no sensor (`forbidden`; `auth-required` when anonymous).
   * After a reload that leaves it readable sensors, `changed` is called. Returns what stops watching.
   */
  watch(
    who: Who,
    end: (code: 'auth-failed' | 'forbidden' | 'auth-required', detail: string) => void,
    changed: () => void,
  ): () => void {
    let done = false;
    const stop = this.#auth.watch(who, (rights) => {
      if (done) return;
      if (rights !== undefined && rights.readsAny) return changed();
      done = true; // the stream's end stops the watch
      if (rights === undefined) end('auth-failed', `token ${who.name ?? ''} is no longer valid`);
      else if (who.name === undefined) end('auth-required', 'anonymous clients may read no sensor now');
      else end('forbidden', `token ${who.name} may read no sensor now`);
    });
    return () => {
      done = true;
      stop();
    };
  }

  /** Whether a reading of `name` may go to `who` now, with the rights of the file in force. */
  readFilter(who: Who): (name: string) => boolean {
    const auth = this.#auth;
    if (who.name === undefined) return (name) => auth.config.anonymous.canRead(name);
    const tokenName = who.name;
    return (name) => {
      const entry = auth.entry(tokenName);
      return entry !== undefined && entry.hash.text === who.hash && entry.rights.canRead(name);
    };
  }
}
