import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, isValidName, isValidPattern, matchPattern } from './names.js';
import { nameArb } from './testing/bytes.js';

describe('isValidName', () => {
  it.each([
    'ramp',
    'default',
    'a',
    'plant1/boiler.temp_2-b',
    'A-Z_0.9/x',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'x'.repeat(128),
  ])('accepts %j', (name) => {
    expect(isValidName(name)).toBe(true);
  });

  it.each([
    '',
    'x'.repeat(129),
    'bad name',
    'tab\tname',
    'ramp:1',
    'ramp|g',
    'ramp*',
    'ñandú',
    'é',
    'nul\u0000',
    'line\n',
    'a#b',
    'a@b',
  ])('rejects %j', (name) => {
    expect(isValidName(name)).toBe(false);
  });

  it('rejects values that are not strings', () => {
    expect(isValidName(42 as unknown as string)).toBe(false);
    expect(isValidName(undefined as unknown as string)).toBe(false);
  });
});

describe('isValidPattern', () => {
  it.each(['*', 'ramp*', '*.temp', 'plant1/*/temp', '**', 'ramp', '*'.repeat(128)])('accepts %j', (pattern) => {
    expect(isValidPattern(pattern)).toBe(true);
  });

  it.each(['', '*'.repeat(129), 'a?', 'a b', '[ab]', 'ramp:*'])('rejects %j', (pattern) => {
    expect(isValidPattern(pattern)).toBe(false);
  });
});

/** The reference model: `*` is `.*`, everything else literal, whole-string match. */
const model = (pattern: string, name: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.\-/]/g, '\\$&'))
      .join('.*')}$`,
  ).test(name);

describe('matchPattern and compilePattern', () => {
  it.each([
    ['*', 'anything', true],
    ['*', 'a', true],
    ['ramp', 'ramp', true],
    ['ramp', 'ramp2', false],
    ['ramp', 'ram', false],
    ['ramp*', 'ramp', true],
    ['ramp*', 'ramp.v2', true],
    ['ramp*', 'xramp', false],
    ['*.temp', 'boiler.temp', true],
    ['*.temp', 'boiler.temp2', false],
    ['plant1/*/temp', 'plant1/boiler/temp', true],
    ['plant1/*/temp', 'plant1/temp', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['a*a*a', 'aa', false],
    ['*ab', 'aab', true],
    ['a*ab', 'aab', true],
    ['a**b', 'ab', true],
    ['.', 'x', false],
    ['a*a', 'a', false],
  ])('matchPattern(%j, %j) is %s', (pattern, name, expected) => {
    expect(matchPattern(pattern, name)).toBe(expected);
    expect(compilePattern(pattern)(name)).toBe(expected);
  });

  const smallPattern = fc.string({ unit: fc.constantFrom('a', 'b', '.', '*'), maxLength: 8 });
  const smallName = fc.string({ unit: fc.constantFrom('a', 'b', '.'), maxLength: 12 });

  it('agrees with a regular-expression model on small alphabets', () => {
    fc.assert(
      fc.property(smallPattern, smallName, (pattern, name) => {
        const expected = model(pattern, name);
        expect(matchPattern(pattern, name)).toBe(expected);
        expect(compilePattern(pattern)(name)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('matches every name against a pattern made from it by replacing runs with *', () => {
    fc.assert(
      fc.property(nameArb, fc.nat(), fc.nat(), (name, a, b) => {
        const [from, to] = [a % (name.length + 1), b % (name.length + 1)].sort((x, y) => x - y) as [number, number];
        const pattern = `${name.slice(0, from)}*${name.slice(to)}`;
        expect(matchPattern(pattern, name)).toBe(true);
        expect(compilePattern(pattern)(name)).toBe(true);
      }),
    );
  });

  it('answers the worst case for backtracking matchers without exponential work', () => {
    const name = 'a'.repeat(128);
    const pattern = `${'a*'.repeat(63)}b`;
    expect(matchPattern(pattern, name)).toBe(false);
    expect(compilePattern(pattern)(name)).toBe(false);
  });
});
