import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatValue, parseNumber } from './number.js';
import { bytes } from './testing/bytes.js';

const parse = (text: string): number => {
  const b = bytes(text);
  return parseNumber(b, 0, b.length);
};

describe('parseNumber', () => {
  it.each([
    ['0.35', 0.35],
    ['1e-05', 1e-5],
    ['0.0', 0],
    ['-0', -0],
    ['42', 42],
    ['+1.5', 1.5],
    ['-2.5', -2.5],
    ['1.', 1],
    ['.5', 0.5],
    ['-.5', -0.5],
    ['1E3', 1000],
    ['1e+21', 1e21],
    ['2.5e-3', 0.0025],
    ['000123.4500', 123.45],
    ['9007199254740993', 9007199254740992],
    ['0.1234567890123456789', 0.12345678901234568],
    ['1e400', Infinity],
    ['-1e400', -Infinity],
    ['1e-400', 0],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['5e-324', 5e-324],
  ])('parses %s as the decimal it spells', (text, expected) => {
    expect(parse(text)).toBe(expected);
  });

  it.each([
    '',
    '+',
    '-',
    '.',
    '--1',
    '+-1',
    '0x10',
    'nan',
    'NaN',
    'inf',
    'Infinity',
    '1_0',
    ' 1',
    '1 ',
    '1e',
    '1e+',
    'e5',
    '.e5',
    '1.2.3',
    '1,5',
    '1\u0000',
    '١',
  ])('returns NaN for %j, which is not in the decimal grammar', (text) => {
    expect(parse(text)).toBeNaN();
  });

  it('parses only the given range of the bytes', () => {
    const b = bytes('ramp 12.5 x');
    expect(parseNumber(b, 5, 9)).toBe(12.5);
    expect(parseNumber(b, 5, 8)).toBe(12);
    expect(parseNumber(b, 5, 5)).toBeNaN();
  });

  const decimal = fc.stringMatching(/^[+-]?(\d{1,40}(\.\d{0,40})?|\.\d{1,40})([eE][+-]?\d{1,4})?$/);

  it('agrees with Number() on every string of the decimal grammar', () => {
    fc.assert(
      fc.property(decimal, (text) => {
        expect(Object.is(parse(text), Number(text))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with Number() on how JavaScript prints doubles, in every notation', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 20 }), (v, digits) => {
        for (const text of [String(v), v.toExponential(), v.toPrecision(digits + 1), v.toExponential(digits)]) {
          expect(Object.is(parse(text), Number(text))).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads back every double exactly from its shortest decimal', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        expect(parse(String(v))).toBe(Object.is(v, -0) ? 0 : v);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary bytes and returns NaN when Number() would not read a decimal', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        const v = parseNumber(b, 0, b.length);
        if (!Number.isNaN(v)) expect(v).toBe(Number(String.fromCharCode(...b)));
      }),
    );
  });
});

describe('formatValue', () => {
  it.each([
    [0.35, '0.35'],
    [1e-5, '0.00001'],
    [1e-7, '1e-7'],
    [1e21, '1e+21'],
    [-0, '0'],
    [42, '42'],
    [NaN, 'nan'],
    [undefined, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ])('formats %s as %j', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it('prints the shortest round-trip decimal, as String() does', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        expect(formatValue(v)).toBe(String(v));
      }),
    );
  });
});
