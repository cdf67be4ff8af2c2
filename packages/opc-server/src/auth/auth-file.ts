/**
 * The auth file (docs/SECURITY.md, "The auth file"): one entry per line.
 *
 * ```
 * # token <name> <hash> [read=<patterns>] [write=<patterns>] [admin]
 * token dashboard $scrypt$ln=14,r=8,p=1$<salt>$<key> read=plant1/*,default
 * token ops       $scrypt$ln=14,r=8,p=1$<salt>$<key> read=* write=* admin
 * anonymous read=public/*,default
 * ```
 *
 * How it works: {@link parseAuthFile} reads the text line by line and stops at the first mistake with an
 * {@link AuthFileError} that names the file, the line and what was expected. Nothing is half loaded.
 */
import { readFileSync, statSync } from 'node:fs';
import { isValidPattern } from '@opc-lite/protocol';
import { parseTokenHash, type TokenHash } from './hash.js';
import { NO_RIGHTS, Rights } from './rights.js';

/**
 * One token of the file.
 *
 * @example
 * ```ts
 * const entry: TokenEntry = config.tokens[0]!;
 * console.log(entry.name, entry.rights.toString());
 * ```
 */
export interface TokenEntry {
  /** What `OK AUTH` answers and logs show; never the token. */
  readonly name: string;
  readonly hash: TokenHash;
  readonly rights: Rights;
  /** 1-based line of the file. */
  readonly line: number;
}

/**
 * A parsed auth file.
 *
 * @example
 * ```ts
 * const config: AuthConfig = parseAuthFile('token ops $scrypt$… read=* admin\n');
 * ```
 */
export interface AuthConfig {
  readonly tokens: readonly TokenEntry[];
  /** What a client has before `AUTH` (no right unless an `anonymous` line grants some). */
  readonly anonymous: Rights;
  /** Where it was read from, for messages (`<text>` when parsed from a string). */
  readonly source: string;
}

/**
 * A mistake in the auth file, or a file that cannot be read. `line` is 1-based, absent when the whole file is
 * at fault.
 *
 * @example
 * ```ts
 * try {
 *   loadAuthFile('/etc/opc-lite/auth');
 * } catch (err) {
 *   if (err instanceof AuthFileError) console.error(err.message); // '/etc/opc-lite/auth line 3: …'
 * }
 * ```
 */
export class AuthFileError extends Error {
  override readonly name = 'AuthFileError';
  readonly code = 'ERR_AUTH_FILE';
  readonly source: string;
  readonly line: number | undefined;

  constructor(source: string, line: number | undefined, message: string, options?: { cause?: unknown }) {
    super(line === undefined ? `${source}: ${message}` : `${source} line ${line}: ${message}`, options);
    this.source = source;
    this.line = line;
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parses the text of an auth file.
 *
 * @throws AuthFileError naming the line of the first mistake.
 * @example
 * ```ts
 * const config = parseAuthFile(text, '/etc/opc-lite/auth');
 * config.anonymous.canRead('public/temp');
 * ```
 */
export function parseAuthFile(text: string, source = '<text>'): AuthConfig {
  const tokens: TokenEntry[] = [];
  const names = new Map<string, number>();
  const hashes = new Map<string, number>();
  let anonymous: Rights | undefined;
  let anonymousLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const fail = (message: string): never => {
      throw new AuthFileError(source, line, message);
    };
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/[ \t]+/);
    const keyword = fields[0]!;
    if (keyword === 'token') {
      const name = fields[1];
      const hashText = fields[2];
      if (name === undefined || hashText === undefined) {
        fail('usage: token <name> <hash> [read=<patterns>] [write=<patterns>] [admin]');
      }
      if (!NAME.test(name!)) fail(`invalid token name ${JSON.stringify(name)} (1 to 64 of A-Z a-z 0-9 _ . -)`);
      const earlier = names.get(name!);
      if (earlier !== undefined) fail(`token name ${name!} is already used on line ${earlier}`);
      const why: string[] = [];
      const hash = parseTokenHash(hashText!, why);
      // The hash is not echoed: a token pasted in its place must not end up in a log.
      if (hash === undefined) fail(`the hash of token ${name!} is not valid: ${why[0] ?? 'unknown format'}`);
      const sameHash = hashes.get(hashText!);
      if (sameHash !== undefined) fail(`token ${name!} has the same hash as line ${sameHash}`);
      const rights = parseRights(fields.slice(3), fail, true);
      names.set(name!, line);
      hashes.set(hashText!, line);
      tokens.push({ name: name!, hash: hash!, rights, line });
    } else if (keyword === 'anonymous') {
      if (anonymous !== undefined) fail(`anonymous rights are already given on line ${anonymousLine}`);
      anonymous = parseRights(fields.slice(1), fail, false);
      anonymousLine = line;
    } else {
      fail(`unknown entry ${JSON.stringify(keyword.slice(0, 32))} (expected token or anonymous)`);
    }
  }
  return Object.freeze({ tokens: Object.freeze(tokens), anonymous: anonymous ?? NO_RIGHTS, source });
}

function parseRights(fields: readonly string[], fail: (message: string) => never, adminAllowed: boolean): Rights {
  const read: string[] = [];
  const write: string[] = [];
  let admin = false;
  for (const field of fields) {
    if (field === 'admin') {
      if (!adminAllowed) fail('anonymous clients cannot be given admin');
      admin = true;
      continue;
    }
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    if (key !== 'read' && key !== 'write') {
      fail(`unknown right ${JSON.stringify(field.slice(0, 64))} (expected read=<patterns>, write=<patterns> or admin)`);
    }
    if (eq < 0 || eq === field.length - 1) fail(`${key}= needs one or more patterns, separated by commas`);
    for (const pattern of field.slice(eq + 1).split(',')) {
      if (!isValidPattern(pattern)) {
        fail(`invalid ${key} pattern ${JSON.stringify(pattern.slice(0, 64))} (1 to 128 of A-Z a-z 0-9 _ . - / *)`);
      }
      (key === 'read' ? read : write).push(pattern);
    }
  }
  return new Rights({ read, write, admin });
}

/**
 * Reads and parses an auth file. `warnings` receives what is allowed but unwise (a file others may read).
 *
 * @throws AuthFileError when the file cannot be read or has a mistake.
 * @example
 * ```ts
 * const warnings: string[] = [];
 * const config = loadAuthFile(process.env.OPC_AUTH_FILE!, warnings);
 * for (const w of warnings) log.warn(w);
 * ```
 */
export function loadAuthFile(path: string, warnings?: string[]): AuthConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
    // The mode bits only mean this on POSIX systems.
    if (warnings !== undefined && process.platform !== 'win32' && (statSync(path).mode & 0o004) !== 0) {
      warnings.push(`${path} can be read by every user of this machine; chmod 600 it`);
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AuthFileError(path, undefined, `cannot read the auth file: ${reason}`, { cause: err });
  }
  return parseAuthFile(text, path);
}
