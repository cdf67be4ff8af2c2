/**
 * Tokens and rights at run time (docs/SECURITY.md): checks tokens, tells each connection what it may do, and
 * applies a reloaded auth file to the connections already open.
 *
 * How it works: a token is checked against every entry's scrypt hash at once (on the thread pool), through the
 * per-address {@link FailureLimiter}. A token found once is remembered by its SHA-256 digest until the next
 * reload, so an HTTP client sending its bearer token with every request costs one hash, not one scrypt per
 * request. Each TCP connection holds an {@link AuthSession}; `reload` walks them: a connection whose token is
 * gone (or has a new hash) is ended, one whose rights changed gets the new rights at once, the others are left
 * alone. What holds no session (an HTTP stream) follows its rights with `watch`, told after each reload.
 */
import { createHash } from 'node:crypto';
import type { Command } from '@opc-lite/protocol';
import type { Logger } from '../options.js';
import type { AuthConfig, TokenEntry } from './auth-file.js';
import { verifyToken } from './hash.js';
import { FailureLimiter, type FailureLimits } from './limiter.js';
import type { Rights } from './rights.js';

/**
 * Options of {@link Authenticator}: the failure limits, plus how many failed `AUTH`s one connection may make.
 *
 * @example
 * ```ts
 * const options: AuthenticatorOptions = { maxFailuresPerConnection: 3, failureDelayMs: 250 };
 * ```
 */
export interface AuthenticatorOptions extends Partial<FailureLimits> {
  /** Failed `AUTH`s after which the connection is closed (default 3). */
  readonly maxFailuresPerConnection?: number;
  readonly logger?: Logger;
  /** Clock of the failure limits, Unix epoch ms (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * What a token check found.
 *
 * @example
 * ```ts
 * const result = await auth.check(token, '10.0.0.7');
 * if (result.ok) console.log(result.entry.name);
 * ```
 */
export type AuthCheck =
  | { readonly ok: true; readonly entry: TokenEntry }
  | { readonly ok: false; readonly blocked: boolean; readonly detail: string };

/**
 * Why a command is refused: `auth-required` before a token was given, `forbidden` after.
 *
 * @example
 * ```ts
 * const denial: Denial = { code: 'forbidden', detail: 'token dashboard may not read b/x' };
 * ```
 */
export interface Denial {
  readonly code: 'auth-required' | 'forbidden';
  readonly detail: string;
}

/**
 * What {@link Authenticator.reload} did to the open connections.
 *
 * @example
 * ```ts
 * const { kept, changed, revoked } = auth.reload(loadAuthFile(path));
 * ```
 */
export interface ReloadResult {
  kept: number;
  changed: number;
  revoked: number;
}

/**
 * Who {@link Authenticator.watch} follows: a token's name and stored hash, or anonymous (both undefined).
 *
 * @example
 * ```ts
 * const who: Holder = { name: entry.name, hash: entry.hash.text };
 * ```
 */
export interface Holder {
  readonly name: string | undefined;
  readonly hash: string | undefined;
}

interface Watcher {
  readonly holder: Holder;
  readonly listener: (rights: Rights | undefined) => void;
  /** The rights at the last reload (or when the watch began). */
  rights: Rights | undefined;
}

const CACHE_LIMIT = 1024;
const BLOCKED_DETAIL = 'too many failed attempts from this address; try again later';

const digest = (token: string): string => createHash('sha256').update(token).digest('base64');

/** `host` of `host:port` or `[v6]:port`; the whole text when it has no port. */
export function addressOf(remote: string): string {
  if (remote.startsWith('[')) {
    const end = remote.indexOf(']');
    return end < 0 ? remote : remote.slice(1, end);
  }
  const colon = remote.lastIndexOf(':');
  return colon < 0 || remote.indexOf(':') !== colon ? remote : remote.slice(0, colon);
}

/**
 * The server's tokens and rights.
 *
 * @example
 * ```ts
 * const auth = new Authenticator(loadAuthFile('/etc/opc-lite/auth'));
 * const server = createOpcServer({ auth });
 * process.on('SIGHUP', () => auth.reload(loadAuthFile('/etc/opc-lite/auth')));
 * ```
 */
export class Authenticator {
  readonly #limiter: FailureLimiter;
  readonly #maxPerConnection: number;
  readonly #logger: Logger | undefined;
  readonly #sessions = new Set<AuthSession>();
  readonly #watchers = new Set<Watcher>();
  /** Token digest → entry name, for tokens found since the last reload. */
  readonly #found = new Map<string, string>();
  #config: AuthConfig;
  #byName = new Map<string, TokenEntry>();
  #counts = { ok: 0, failed: 0, refused: 0, revoked: 0, reloads: 0 };

  constructor(config: AuthConfig, options: AuthenticatorOptions = {}) {
    const { maxFailuresPerConnection = 3, logger, now, ...limits } = options;
    if (!Number.isInteger(maxFailuresPerConnection) || maxFailuresPerConnection < 1) {
      throw new RangeError(
        `maxFailuresPerConnection must be an integer of at least 1 (got ${maxFailuresPerConnection})`,
      );
    }
    this.#limiter = new FailureLimiter(limits, now);
    this.#maxPerConnection = maxFailuresPerConnection;
    this.#logger = logger;
    this.#config = config;
    this.#index();
  }

  /** The auth file in force. */
  get config(): AuthConfig {
    return this.#config;
  }

  /** The failure limits in force. */
  get limits(): Readonly<FailureLimits> {
    return this.#limiter.limits;
  }

  /**
   * Checks a token from `address` (an IP address: failures are counted per address). A failure is answered
   * after the limiter's delay; a refused address is answered at once, without a check.
   */
  async check(token: string, address: string): Promise<AuthCheck> {
    const known = this.#found.get(digest(token));
    const entry = known === undefined ? undefined : this.#byName.get(known);
    if (entry !== undefined && !this.#limiter.isBlocked(address)) {
      this.#counts.ok++;
      return { ok: true, entry };
    }
    if (!this.#limiter.begin(address)) {
      this.#counts.refused++;
      return { ok: false, blocked: true, detail: BLOCKED_DETAIL };
    }
    const config = this.#config;
    let match: TokenEntry | undefined;
    try {
      const results = await Promise.all(config.tokens.map((e) => verifyToken(token, e.hash)));
      const index = results.indexOf(true);
      match = index < 0 ? undefined : config.tokens[index];
    } catch (err) {
      this.#logger?.error({ err }, 'token check failed');
    }
    // A reload while checking: the entry must still be the same one.
    if (match !== undefined && this.#byName.get(match.name)?.hash.text === match.hash.text) {
      this.#limiter.succeeded(address);
      if (this.#found.size >= CACHE_LIMIT) this.#found.clear();
      this.#found.set(digest(token), match.name);
      this.#counts.ok++;
      return { ok: true, entry: this.#byName.get(match.name)! };
    }
    const delayMs = this.#limiter.failed(address);
    this.#counts.failed++;
    const blocked = this.#limiter.isBlocked(address);
    this.#logger?.info({ address, delayMs, blocked }, 'authentication failed');
    if (delayMs > 0) await new Promise<void>((resolve) => setTimeout(resolve, delayMs).unref());
    return { ok: false, blocked, detail: blocked ? BLOCKED_DETAIL : 'unknown token' };
  }

  /** The per-connection state of a new TCP connection; `revoke` ends the connection when its token is withdrawn. */
  open(remote: () => string, revoke: (detail: string) => void): AuthSession {
    const session = new AuthSession(this, remote, revoke, this.#config.anonymous, this.#maxPerConnection);
    this.#sessions.add(session);
    return session;
  }

  /** @internal */
  forget(session: AuthSession): void {
    this.#sessions.delete(session);
  }

  /**
   * Follows the rights of `holder` across reloads, for what holds no {@link AuthSession} (an HTTP stream): after
   * each reload `listener` is called with the rights `holder` has then, or once with undefined when its token is
   * gone or has a new hash (and not again). Returns what stops it.
   *
   * @example
   * ```ts
   * const stop = auth.watch({ name: 'dashboard', hash }, (rights) => {
   *   if (rights === undefined || !rights.readsAny) stream.end();
   * });
   * ```
   */
  watch(holder: Holder, listener: (rights: Rights | undefined) => void): () => void {
    const watcher: Watcher = { holder, listener, rights: this.#rightsOf(holder) };
    if (watcher.rights === undefined) {
      listener(undefined);
      return () => undefined;
    }
    this.#watchers.add(watcher);
    return () => void this.#watchers.delete(watcher);
  }

  /** The entry named `name` in the file in force. */
  entry(name: string): TokenEntry | undefined {
    return this.#byName.get(name);
  }

  /**
   * Puts a new auth file in force. Connections whose token still has the same hash keep going, with the new
   * rights if they changed; those whose token is gone or has a new hash are ended (`ERR auth-failed`).
   */
  reload(config: AuthConfig): ReloadResult {
    this.#config = config;
    this.#index();
    this.#found.clear();
    this.#counts.reloads++;
    const result: ReloadResult = { kept: 0, changed: 0, revoked: 0 };
    for (const session of [...this.#sessions]) {
      const outcome = session.apply(config, this.#byName);
      result[outcome]++;
    }
    for (const watcher of [...this.#watchers]) {
      const rights = this.#rightsOf(watcher.holder);
      if (rights === undefined) {
        this.#watchers.delete(watcher);
        result.revoked++;
      } else if (rights.equals(watcher.rights!)) result.kept++;
      else result.changed++;
      watcher.rights = rights;
      watcher.listener(rights);
    }
    this.#counts.revoked += result.revoked;
    this.#logger?.info({ tokens: config.tokens.length, ...result }, 'auth file reloaded');
    return result;
  }

  /** The `auth_*` keys of `STATS`. */
  stats(): Record<string, number> {
    return {
      auth_tokens: this.#config.tokens.length,
      auth_ok: this.#counts.ok,
      auth_failed: this.#counts.failed,
      auth_refused: this.#counts.refused,
      auth_addresses_blocked: this.#limiter.blockedAddresses,
      auth_revoked: this.#counts.revoked,
      auth_reloads: this.#counts.reloads,
    };
  }

  /** The rights of `holder` in the file in force; undefined when its token is gone or has a new hash. */
  #rightsOf({ name, hash }: Holder): Rights | undefined {
    if (name === undefined) return this.#config.anonymous;
    const entry = this.#byName.get(name);
    return entry !== undefined && entry.hash.text === hash ? entry.rights : undefined;
  }

  #index(): void {
    this.#byName = new Map(this.#config.tokens.map((e) => [e.name, e]));
  }
}

/**
 * One TCP connection's identity and rights.
 *
 * @example
 * ```ts
 * const denial = auth.check({ kind: 'get', name: 'b/x' });
 * if (denial) reply(`ERR ${denial.code} ${denial.detail}`);
 * ```
 */
export class AuthSession {
  /** The token's name after a successful `AUTH`; undefined while anonymous. */
  name: string | undefined;
  #rights: Rights;
  #hash: string | undefined;
  #failures = 0;
  readonly #auth: Authenticator;
  readonly #remote: () => string;
  readonly #revoke: (detail: string) => void;
  readonly #maxFailures: number;

  /** @internal */
  constructor(
    auth: Authenticator,
    remote: () => string,
    revoke: (detail: string) => void,
    anonymous: Rights,
    maxFailures: number,
  ) {
    this.#auth = auth;
    this.#remote = remote;
    this.#revoke = revoke;
    this.#rights = anonymous;
    this.#maxFailures = maxFailures;
  }

  /** What this connection may do now. */
  get rights(): Rights {
    return this.#rights;
  }

  /** Whether sensor `name` may be read. */
  canRead(name: string): boolean {
    return this.#rights.canRead(name);
  }

  /** Whether a `PUB <name> …` line may be delivered. */
  canReadPub(line: string): boolean {
    const rights = this.#rights;
    if (rights.readsAll) return true;
    const end = line.indexOf(' ', 4);
    return rights.canRead(line.slice(4, end < 0 ? line.length : end));
  }

  /** Why `command` is refused, or undefined when it may run (docs/SECURITY.md, "What each right allows"). */
  check(command: Command): Denial | undefined {
    switch (command.kind) {
      case 'poll':
        return this.#needRead('default', 'n');
      case 'get':
      case 'hist':
      case 'range':
      case 'after':
        return this.#needRead(command.name, command.kind.toUpperCase());
      case 'list':
      case 'sub':
        if (this.#rights.readsAny) return undefined;
        return this.#deny(`${command.kind.toUpperCase()} needs a token that may read sensors`, 'may read no sensor');
      case 'stats':
        if (this.#rights.admin) return undefined;
        return this.#deny('STATS needs an admin token', 'is not admin');
      default:
        return undefined; // PING, QUIT, AUTH, UNSUB and errors need no right
    }
  }

  /**
   * `AUTH <token>`: on success the connection takes the token's name and rights. After
   * `maxFailuresPerConnection` failures, or from a refused address, `close` is set.
   */
  async authenticate(
    token: string,
  ): Promise<{ ok: true; name: string } | { ok: false; detail: string; close: boolean }> {
    const result = await this.#auth.check(token, addressOf(this.#remote()));
    if (result.ok) {
      this.name = result.entry.name;
      this.#rights = result.entry.rights;
      this.#hash = result.entry.hash.text;
      return { ok: true, name: result.entry.name };
    }
    this.#failures++;
    return { ok: false, detail: result.detail, close: result.blocked || this.#failures >= this.#maxFailures };
  }

  /** The connection closed. */
  close(): void {
    this.#auth.forget(this);
  }

  /** @internal Applies a reloaded file; returns what happened to this connection. */
  apply(config: AuthConfig, byName: ReadonlyMap<string, TokenEntry>): keyof ReloadResult {
    const name = this.name;
    const next = name === undefined ? config.anonymous : byName.get(name);
    if (next === undefined || (name !== undefined && (next as TokenEntry).hash.text !== this.#hash)) {
      this.#rights = config.anonymous;
      this.name = undefined;
      this.#auth.forget(this);
      this.#revoke(`token ${name ?? ''} is no longer valid`);
      return 'revoked';
    }
    const rights = name === undefined ? (next as Rights) : (next as TokenEntry).rights;
    if (rights.equals(this.#rights)) return 'kept';
    this.#rights = rights;
    return 'changed';
  }

  #needRead(name: string, verb: string): Denial | undefined {
    if (this.#rights.canRead(name)) return undefined;
    return this.#deny(`${verb} ${name} needs a token that may read it`, `may not read ${name}`);
  }

  #deny(anonymous: string, named: string): Denial {
    const name = this.name;
    return name === undefined
      ? { code: 'auth-required', detail: anonymous }
      : { code: 'forbidden', detail: `token ${name} ${named}` };
  }
}
