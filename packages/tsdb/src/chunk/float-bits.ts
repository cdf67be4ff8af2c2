// The 64 bits of a float64 as two unsigned 32-bit halves, through one shared 8-byte buffer seen both as a
// Float64Array and as a Uint32Array. Typed arrays use the platform's byte order, so which Uint32 element holds the
// high half (sign, exponent, top of the mantissa) is found once at load time: element 1 on little-endian machines,
// element 0 on big-endian ones. Nothing here allocates after module load.

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

/** The high 32 bits of `value`'s IEEE 754 encoding (sign, exponent, 20 mantissa bits), as an unsigned integer. */
export function highBits(value: number): number {
  f64[0] = value;
  return u32[HI] as number;
}

/** The low 32 bits of `value`'s IEEE 754 encoding, as an unsigned integer. */
export function lowBits(value: number): number {
  f64[0] = value;
  return u32[LO] as number;
}

/** The float64 whose IEEE 754 encoding is `hi` (high 32 bits) followed by `lo`. */
export function fromBits(hi: number, lo: number): number {
  u32[HI] = hi;
  u32[LO] = lo;
  return f64[0] as number;
}
