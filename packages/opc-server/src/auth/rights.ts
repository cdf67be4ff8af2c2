/**
 * What a token may do (docs/SECURITY.md, "Rights"): read patterns, write patterns and admin.
 *
 * How it works: patterns are those of `SUB` and `LIST` (docs/PROTOCOL.md, "Readings, names and numbers"),
 * compiled once with the protocol's matcher. `canRead` and `canWrite` remember their answers per name (at most
 * {@link MEMO_LIMIT} names, then they start over), so checking every pushed reading costs a map lookup.
 */
import { compilePattern, isValidPattern } from '@opc-lite/protocol';

/** Most names one {@link Rights} remembers an answer for before it forgets them all. */
const MEMO_LIMIT = 65_536;

type Matcher = (name: string) => boolean;

function compileAll(patterns: readonly string[]): Matcher {
  if (patterns.length === 0) return () => false;
  if (patterns.includes('*')) return () => true;
  const matchers = patterns.map(compilePattern);
  return (name) => matchers.some((m) => m(name));
}

/**
 * An immutable set of rights.
 *
 * @example
 * ```ts
 * const rights = new Rights({ read: ['plant1/*', 'default'], write: [], admin: false });
 * rights.canRead('plant1/temp'); // true
 * rights.canRead('plant2/temp'); // false
 * ```
 */
export class Rights {
  /** Read patterns, in file order, without repeats. */
  readonly read: readonly string[];
  /** Write patterns, in file order, without repeats. */
  readonly write: readonly string[];
  readonly admin: boolean;
  /** Whether every sensor is readable (a `*` read pattern): no per-name check is needed. */
  readonly readsAll: boolean;
  readonly #read: Matcher;
  readonly #write: Matcher;
  readonly #readMemo = new Map<string, boolean>();
  readonly #writeMemo = new Map<string, boolean>();

  constructor(spec: { read?: readonly string[]; write?: readonly string[]; admin?: boolean }) {
    this.read = Object.freeze(unique(spec.read ?? [], 'read'));
    this.write = Object.freeze(unique(spec.write ?? [], 'write'));
    this.admin = spec.admin === true;
    this.readsAll = this.read.includes('*');
    this.#read = compileAll(this.read);
    this.#write = compileAll(this.write);
  }

  /** Whether any sensor at all may be read. */
  get readsAny(): boolean {
    return this.read.length > 0;
  }

  /** Whether sensor `name` may be read (`GET`, `HIST`, `RANGE`, `AFTER`, `n`, and what `LIST` and `SUB` show). */
  canRead(name: string): boolean {
    return this.readsAll || memo(this.#readMemo, this.#read, name);
  }

  /** Whether readings of sensor `name` may be sent (HTTP write and the other authenticated ingest paths). */
  canWrite(name: string): boolean {
    return memo(this.#writeMemo, this.#write, name);
  }

  /** Whether `other` grants exactly the same (pattern order and repeats aside). */
  equals(other: Rights): boolean {
    return this.admin === other.admin && sameSet(this.read, other.read) && sameSet(this.write, other.write);
  }

  /** The rights as the auth file writes them, e.g. `read=a/*,b write=a/* admin` (`none` for no right). */
  toString(): string {
    const parts: string[] = [];
    if (this.read.length > 0) parts.push(`read=${this.read.join(',')}`);
    if (this.write.length > 0) parts.push(`write=${this.write.join(',')}`);
    if (this.admin) parts.push('admin');
    return parts.length === 0 ? 'none' : parts.join(' ');
  }
}

/**
 * No right at all: what a client has before `AUTH` when the auth file grants anonymous clients nothing.
 *
 * @example
 * ```ts
 * NO_RIGHTS.canRead('default'); // false
 * ```
 */
export const NO_RIGHTS = new Rights({});

function unique(patterns: readonly string[], what: string): string[] {
  for (const p of patterns) {
    if (!isValidPattern(p)) throw new RangeError(`invalid ${what} pattern ${JSON.stringify(p)}`);
  }
  return [...new Set(patterns)];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((p) => set.has(p));
}

function memo(cache: Map<string, boolean>, match: Matcher, name: string): boolean {
  let ok = cache.get(name);
  if (ok === undefined) {
    if (cache.size >= MEMO_LIMIT) cache.clear();
    ok = match(name);
    cache.set(name, ok);
  }
  return ok;
}
