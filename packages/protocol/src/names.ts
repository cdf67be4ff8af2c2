/**
 * Sensor names and subscription patterns (PROTOCOL.md "Readings, names and numbers", PROTOCOL.md "TCP commands and replies").
 *
 * A name is 1 to 128 bytes of `A-Z a-z 0-9 _ . - /`; a pattern may also hold
 * `*`, which matches any run of characters (the empty run included). Every
 * other character of a pattern is literal. All valid names and patterns are
 * ASCII, so their length in chars equals their length in bytes.
 */
import { CHAR_CLASS, NAME_BIT, PATTERN_BIT, STAR } from './chars.js';
import { MAX_NAME_BYTES } from './limits.js';

function isValidWith(text: string, bit: number): boolean {
  const n = text.length;
  if (n === 0 || n > MAX_NAME_BYTES) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || ((CHAR_CLASS[c] as number) & bit) === 0) return false;
  }
  return true;
}

/**
 * Tells whether a string is a valid sensor name: 1 to 128 characters of
 * `A-Z a-z 0-9 _ . - /` (PROTOCOL.md "Readings, names and numbers"). Names such as `__proto__` are ordinary names.
 *
 * @example
 * ```ts
 * isValidName('plant1/ramp.v2'); // true
 * isValidName('bad name'); // false
 * isValidName(''); // false
 * ```
 */
export function isValidName(name: string): boolean {
  return typeof name === 'string' && isValidWith(name, NAME_BIT);
}

/**
 * Tells whether a string is a valid pattern: 1 to 128 characters that are name
 * characters or `*` (PROTOCOL.md "TCP commands and replies").
 *
 * @example
 * ```ts
 * isValidPattern('plant1/*'); // true
 * isValidPattern('*'); // true
 * isValidPattern('a?'); // false
 * ```
 */
export function isValidPattern(pattern: string): boolean {
  return typeof pattern === 'string' && isValidWith(pattern, PATTERN_BIT);
}

/**
 * Matches a name against a pattern: `*` matches any run of characters (the
 * empty run included), every other character matches itself (PROTOCOL.md "TCP commands and replies").
 *
 * Two pointers with a single backtrack point (the last `*` seen): no RegExp,
 * no recursion, no allocation. With `*` as the only wildcard, resuming after
 * the latest star is always enough, so the loop never revisits an earlier
 * star; the pattern and the name are each read left to right, with at most
 * one rescan of the segment after the latest star per name character.
 *
 * @example
 * ```ts
 * matchPattern('plant1/*', 'plant1/ramp'); // true
 * matchPattern('*.temp', 'boiler.temp'); // true
 * matchPattern('ramp', 'ramp2'); // false
 * ```
 */
export function matchPattern(pattern: string, name: string): boolean {
  const pn = pattern.length;
  const nn = name.length;
  let p = 0;
  let n = 0;
  let starP = -1; // index in pattern just after the last `*`
  let starN = 0; // index in name where that star's run currently ends
  while (n < nn) {
    if (p < pn) {
      const pc = pattern.charCodeAt(p);
      if (pc === STAR) {
        starP = ++p;
        starN = n;
        continue;
      }
      if (pc === name.charCodeAt(n)) {
        p++;
        n++;
        continue;
      }
    }
    if (starP < 0) return false;
    // Let the last star swallow one more character and retry from there.
    p = starP;
    n = ++starN;
  }
  while (p < pn && pattern.charCodeAt(p) === STAR) p++;
  return p === pn;
}

/**
 * Compiles a pattern into a matcher, with fast paths: `*` always matches, a
 * pattern without `*` is an equality test, `prefix*` a `startsWith`, `*suffix`
 * an `endsWith`; anything else uses {@link matchPattern}. Runs of `*` count as
 * one. The pattern is not validated; check it with {@link isValidPattern}.
 *
 * @example
 * ```ts
 * const matches = compilePattern('plant1/*');
 * matches('plant1/ramp'); // true
 * matches('plant2/ramp'); // false
 * ```
 */
export function compilePattern(pattern: string): (name: string) => boolean {
  let p = pattern;
  while (p.includes('**')) p = p.replaceAll('**', '*');
  const first = p.indexOf('*');
  if (first < 0) return (name) => name === p;
  if (p === '*') return () => true;
  const last = p.lastIndexOf('*');
  if (first === last) {
    const head = p.slice(0, first);
    const tail = p.slice(first + 1);
    if (tail === '') return (name) => name.startsWith(head);
    if (head === '') return (name) => name.endsWith(tail);
    const min = head.length + tail.length;
    return (name) => name.length >= min && name.startsWith(head) && name.endsWith(tail);
  }
  return (name) => matchPattern(p, name);
}
