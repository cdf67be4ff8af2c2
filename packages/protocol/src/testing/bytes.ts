/** Test helpers: bytes from text, and cutting a byte stream into chunks. */
import fc from 'fast-check';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export const bytes = (text: string): Uint8Array => encoder.encode(text);

/** Cuts `data` at the given offsets (taken modulo its length, sorted, deduplicated). */
export function cut(data: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => (data.length === 0 ? 0 : o % (data.length + 1))))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(data.subarray(from, p));
    from = p;
  }
  chunks.push(data.subarray(from));
  return chunks;
}

/** Every byte on its own. */
export const oneByteAtATime = (data: Uint8Array): Uint8Array[] => Array.from(data, (_, i) => data.subarray(i, i + 1));

/** Offsets to cut a stream at. */
export const cutPoints = fc.array(fc.nat(), { maxLength: 20 });

/** Bytes that exercise the parsers' special cases more often than uniform bytes would. */
export const streamBytes = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...bytes('\n\r \t:|nN*-+.eE0123456789#@Tg'))), {
    maxLength: 400,
  })
  .map((a) => Uint8Array.from(a));

/** A valid sensor name. */
export const nameArb = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/'),
  minLength: 1,
  maxLength: 128,
});

/** A valid pattern. */
export const patternArb = fc.string({
  unit: fc.constantFrom(...'abcAB01_.-/*'),
  minLength: 1,
  maxLength: 128,
});

/** A finite double, -0 excluded (the wire prints it as `0`). */
export const finiteArb = fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v));
