/** Test helpers: the name mapping written the obvious way, to check the fast one against. */

const ALPHABET = /^[A-Za-z0-9_.\-/]$/;

/** Each code point outside `A-Z a-z 0-9 _ . - /` as `_` (a lone surrogate is one code point). */
export const referenceName = (text: string): string =>
  Array.from(text, (ch) => (ALPHABET.test(ch) ? ch : '_')).join('');
