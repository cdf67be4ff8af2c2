/**
 * Byte classes shared by the parsers. Internal: not exported from the package.
 *
 * Lookup tables indexed by byte value keep the scanners to one load and one
 * test per byte, and never run a RegExp on untrusted input.
 */

export const TAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const QUOTE = 0x22;
export const HASH = 0x23;
export const STAR = 0x2a;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const DIGIT_0 = 0x30;
export const DIGIT_9 = 0x39;
export const COLON = 0x3a;
export const EQUALS = 0x3d;
export const AT = 0x40;
export const BACKSLASH = 0x5c;
export const PIPE = 0x7c;

/** Bit set in {@link CHAR_CLASS} for `A-Z a-z 0-9 _ . - /` (PROTOCOL.md "Readings, names and numbers"). */
export const NAME_BIT = 1;
/** Bit set for name characters and `*` (PROTOCOL.md "TCP commands and replies", patterns). */
export const PATTERN_BIT = 2;
/** Bit set for space and tab, the field separators. */
export const BLANK_BIT = 4;
/** Bit set for every byte a UDP line scanner must look at: space, tab, CR, LF, `:` and `=`. */
export const BREAK_BIT = 8;

/** One entry per byte value; see the `*_BIT` constants. */
export const CHAR_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  const name = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/';
  for (let i = 0; i < name.length; i++) table[name.charCodeAt(i)] = NAME_BIT | PATTERN_BIT;
  table[STAR] = PATTERN_BIT;
  table[SPACE] = BLANK_BIT | BREAK_BIT;
  table[TAB] = BLANK_BIT | BREAK_BIT;
  table[CR] = BREAK_BIT;
  table[LF] = BREAK_BIT;
  table[COLON] = BREAK_BIT;
  table[EQUALS] = BREAK_BIT;
  return table;
})();

/** Tells whether a byte is a space or a tab. */
export function isBlank(byte: number): boolean {
  return byte === SPACE || byte === TAB;
}

const CHUNK = 4096;

/**
 * Decodes bytes as latin1 (one char per byte). For ASCII, which is all that
 * valid names, numbers and verbs contain, this equals UTF-8 decoding.
 */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= CHUNK) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  let out = '';
  for (let i = start; i < end; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[]);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD; never throws. */
export function utf8Text(bytes: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if ((bytes[i] as number) >= 0x80) return utf8.decode(bytes.subarray(start, end));
  }
  return latin1(bytes, start, end);
}
