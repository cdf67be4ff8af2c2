/**
 * Token hashes (docs/SECURITY.md, "Stored hashes"): scrypt from node:crypto, written as a PHC string
 * `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>` with unpadded base64 salt and key.
 *
 * How it works: {@link hashToken} draws a 16-byte salt and derives a 32-byte key; {@link verifyToken} derives
 * the key again with the parameters and salt of the stored string and compares the two with
 * `crypto.timingSafeEqual`. Derivation runs on libuv's thread pool (`crypto.scrypt`), never on the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * The scrypt cost of a new hash: N = 2^ln, block size r, parallelism p.
 *
 * @example
 * ```ts
 * const cheap: ScryptParams = { ln: 10, r: 8, p: 1 }; // for tests only
 * ```
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N (memory is 128 × N × r bytes). */
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/**
 * The parameters `hashToken` uses by default: N = 2^14, r = 8, p = 1 (16 MiB, about 40 ms on one core).
 * Tokens are long random strings, not passwords people pick, so this cost is there against a stolen file, not
 * to make a weak secret strong (docs/SECURITY.md, "Stored hashes").
 *
 * @example
 * ```ts
 * await hashToken(token, SCRYPT_DEFAULTS);
 * ```
 */
export const SCRYPT_DEFAULTS: Readonly<ScryptParams> = Object.freeze({ ln: 14, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** The most a stored string may ask for: N = 2^18, 256 MiB at r = 8. */
const MAX_LN = 18;
const MIN_LN = 1;
const HASH_PATTERN = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{16,88})$/;

/**
 * A stored hash, parsed.
 *
 * @example
 * ```ts
 * const parsed: TokenHash = parseTokenHash('$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$...');
 * ```
 */
export interface TokenHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
  /** The string as stored. */
  readonly text: string;
}

/**
 * Reads a stored hash string; undefined when it is not one this module writes, with the reason in `why`.
 *
 * @example
 * ```ts
 * const why: string[] = [];
 * parseTokenHash('plain-text', why); // undefined; why[0] explains
 * ```
 */
export function parseTokenHash(text: string, why?: string[]): TokenHash | undefined {
  const m = HASH_PATTERN.exec(text);
  if (m === null) {
    why?.push('expected a hash from `opc-server hash-token` ($scrypt$ln=…,r=…,p=…$<salt>$<key>)');
    return undefined;
  }
  const ln = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (ln < MIN_LN || ln > MAX_LN || r < 1 || p < 1 || r * p >= 2 ** 30) {
    why?.push(`scrypt parameters out of range (ln ${MIN_LN} to ${MAX_LN}, r and p at least 1)`);
    return undefined;
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || key.length < 16) {
    why?.push('salt or key too short');
    return undefined;
  }
  return { params: { ln, r, p }, salt, key, text };
}

function derive(token: string, salt: Buffer, params: ScryptParams, keyBytes: number): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    maxmem: 256 * 2 ** params.ln * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(token, salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/**
 * Hashes a token for the auth file.
 *
 * @example
 * ```ts
 * const line = `token dashboard ${await hashToken(token)} read=plant1/*`;
 * ```
 */
export async function hashToken(token: string, params: ScryptParams = SCRYPT_DEFAULTS): Promise<string> {
  if (token.length === 0) throw new RangeError('a token cannot be empty');
  if (!Number.isInteger(params.ln) || params.ln < MIN_LN || params.ln > MAX_LN) {
    throw new RangeError(`ln must be an integer from ${MIN_LN} to ${MAX_LN} (got ${String(params.ln)})`);
  }
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(token, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Whether `token` is the one `hash` was made from. The keys are compared in constant time.
 *
 * @example
 * ```ts
 * await verifyToken('s3cret', parseTokenHash(stored)!); // true or false
 * ```
 */
export async function verifyToken(token: string, hash: TokenHash): Promise<boolean> {
  const key = await derive(token, hash.salt, hash.params, hash.key.length);
  return timingSafeEqual(key, hash.key);
}

/**
 * A new random token: 32 bytes from the system's generator, as base64url (43 characters).
 *
 * @example
 * ```ts
 * generateToken(); // 'q3Yd…'
 * ```
 */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}
