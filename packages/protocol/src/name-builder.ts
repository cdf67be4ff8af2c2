/**
 * Sensor names built from pieces of foreign formats (InfluxDB measurements,
 * tags and fields, Graphite paths, MQTT topics and JSON keys). Internal: not
 * exported from the package; {@link toSensorName} is the public face of the
 * same mapping.
 *
 * How it works: a {@link NameBuilder} writes the name's bytes into a fixed
 * buffer of {@link MAX_NAME_BYTES} and keeps the running hash that
 * {@link NameCache} expects, so a name that was seen before comes back as the
 * same string without allocating. Every byte outside the name alphabet
 * (PROTOCOL.md "Readings, names and numbers") becomes `_`, except that the
 * continuation bytes of a non-ASCII UTF-8 character add nothing: one
 * character, one `_`. The length keeps counting past the buffer, so a name
 * that comes out over 128 bytes is known as such (and refused as `bad-name`
 * by the callers) rather than cut.
 */
import { CHAR_CLASS, NAME_BIT, latin1 } from './chars.js';
import type { NameCache } from './ingest.js';
import { MAX_NAME_BYTES } from './limits.js';

export const UNDERSCORE = 0x5f;
export const SLASH = 0x2f;

/** @internal A sensor name under construction; see the file comment. */
export class NameBuilder {
  readonly bytes = new Uint8Array(MAX_NAME_BYTES);
  /** Bytes of the name so far; may exceed {@link MAX_NAME_BYTES}, then the name is too long. */
  length = 0;
  /** The running hash of the bytes, as {@link NameCache} computes it. */
  hash = 0;
  /** The previous byte mapped was non-ASCII: a continuation byte after it adds nothing. */
  #inChar = false;

  /** Starts over with an empty name. */
  reset(): void {
    this.length = 0;
    this.hash = 0;
    this.#inChar = false;
  }

  /** Goes back to a length and hash saved earlier (a prefix). */
  rewind(length: number, hash: number): void {
    this.length = length;
    this.hash = hash;
    this.#inChar = false;
  }

  /** Appends a byte that is known to be in the name alphabet. */
  push(b: number): void {
    if (this.length < MAX_NAME_BYTES) this.bytes[this.length] = b;
    this.length++;
    this.hash = (Math.imul(this.hash, 31) + b) | 0;
    this.#inChar = false;
  }

  /** Appends the mapping of one raw byte: itself in the alphabet, else `_` (or nothing, see the file comment). */
  map(b: number): void {
    if (((CHAR_CLASS[b] as number) & NAME_BIT) !== 0) {
      this.push(b);
    } else if (b >= 0x80) {
      if (!(b < 0xc0 && this.#inChar)) this.push(UNDERSCORE);
      this.#inChar = true;
    } else {
      this.push(UNDERSCORE);
    }
  }

  /** Appends the mapping of `bytes[start, end)`. */
  mapBytes(bytes: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) this.map(bytes[i] as number);
  }

  /**
   * Appends the mapping of a string's UTF-16 code units: an alphabet
   * character is itself, a surrogate pair is one `_`, anything else `_`.
   */
  mapString(text: string): void {
    let high = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80 && ((CHAR_CLASS[c] as number) & NAME_BIT) !== 0) {
        this.push(c);
        high = false;
      } else if (c >= 0xdc00 && c <= 0xdfff && high) {
        high = false; // the second half of a pair already written as `_`
      } else {
        this.push(UNDERSCORE);
        high = c >= 0xd800 && c <= 0xdbff;
      }
    }
  }

  /** Appends a non-negative integer in decimal (a JSON array index). */
  pushDecimal(n: number): void {
    let p = 1;
    while (p * 10 <= n) p *= 10;
    for (; p >= 1; p /= 10) this.push(0x30 + (Math.floor(n / p) % 10));
  }

  /** Whether the name so far is a valid length: 1 to {@link MAX_NAME_BYTES} bytes. */
  get fits(): boolean {
    return this.length > 0 && this.length <= MAX_NAME_BYTES;
  }

  /** The name as a string, from `cache` when given. Only call when {@link fits}. */
  intern(cache: NameCache | undefined): string {
    return cache === undefined
      ? latin1(this.bytes, 0, this.length)
      : cache.intern(this.bytes, 0, this.length, this.hash);
  }
}

/**
 * Maps text to a sensor name the way the InfluxDB, Graphite and MQTT mappings
 * do (docs/PROTOCOL.md "Readings, names and numbers" for the alphabet): each
 * character outside `A-Z a-z 0-9 _ . - /` becomes `_`, one `_` per character
 * (a surrogate pair is one character). Returns `undefined` when the result
 * would be empty or longer than 128 bytes: such a name is refused as
 * `bad-name`, never cut.
 *
 * @example
 * ```ts
 * toSensorName('zigbee2mqtt/Living room/temperature'); // 'zigbee2mqtt/Living_room/temperature'
 * toSensorName('shellies/x/status/switch:0'); // 'shellies/x/status/switch_0'
 * toSensorName('Température °C'); // 'Temp_rature__C'
 * toSensorName(''); // undefined
 * ```
 */
export function toSensorName(text: string): string | undefined {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
  const builder = new NameBuilder();
  builder.mapString(text);
  return builder.fits ? builder.intern(undefined) : undefined;
}
