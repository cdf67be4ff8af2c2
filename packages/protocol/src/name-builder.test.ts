import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NameBuilder, toSensorName } from './name-builder.js';
import { isValidName } from './names.js';
import { referenceName } from './testing/names.js';

describe('toSensorName', () => {
  it.each<[string, string | undefined]>([
    ['plant1/boiler.temp-2_x', 'plant1/boiler.temp-2_x'],
    ['zigbee2mqtt/Living room/temperature', 'zigbee2mqtt/Living_room/temperature'],
    ['shellies/x/status/switch:0', 'shellies/x/status/switch_0'],
    ['Température °C', 'Temp_rature__C'],
    ['🌡', '_'],
    ['\ud800x', '_x'],
    ['x\udc00', 'x_'],
    ['a'.repeat(128), 'a'.repeat(128)],
    ['a'.repeat(129), undefined],
    ['', undefined],
  ])('maps %j to %j', (text, name) => {
    expect(toSensorName(text)).toBe(name);
  });

  it('maps each code point outside the alphabet to one _, and gives a valid name or undefined', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 140 }), (text) => {
        const want = referenceName(text);
        const name = toSensorName(text);
        expect(name).toBe(want.length >= 1 && want.length <= 128 ? want : undefined);
        if (name !== undefined) expect(isValidName(name)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('throws a TypeError for a value that is not a string', () => {
    expect(() => toSensorName(1 as unknown as string)).toThrow(TypeError);
  });
});

describe('NameBuilder', () => {
  it('maps UTF-8 bytes as the string they spell, one _ per character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        const builder = new NameBuilder();
        builder.mapBytes(new TextEncoder().encode(text), 0, new TextEncoder().encode(text).length);
        expect(builder.length).toBe(referenceName(text).length);
        if (builder.fits) expect(builder.intern(undefined)).toBe(referenceName(text));
      }),
    );
  });

  it('keeps counting past 128 bytes, so an over-long name is known, not cut', () => {
    const builder = new NameBuilder();
    for (let k = 0; k < 200; k++) builder.push(0x61);
    expect(builder.length).toBe(200);
    expect(builder.fits).toBe(false);
    builder.rewind(3, 0);
    expect(builder.fits).toBe(true);
  });

  it('writes array indexes in decimal', () => {
    const builder = new NameBuilder();
    for (const n of [0, 7, 10, 255, 1000, 9_007_199_254_740_991]) {
      builder.reset();
      builder.pushDecimal(n);
      expect(builder.intern(undefined)).toBe(String(n));
    }
  });
});
