import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editDistance, suggestOption } from './suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['history', 'history', 0],
    ['histroy', 'history', 1],
    ['histry', 'history', 1],
    ['hostory', 'history', 1],
    ['kitten', 'sitting', 3],
  ])('is %j to %j: %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });

  it('is symmetric, zero only for equal strings, and at most the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(editDistance(b, a)).toBe(d);
        expect(d === 0).toBe(a === b);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe('suggestOption', () => {
  const known = ['history', 'host', 'port', 'max-sensors', 'max-clients', 'log-level', 'log-format'];

  it.each([
    ['--histroy', '--history'],
    ['--hist', '--history'],
    ['--max-sensor', '--max-sensors'],
    ['--log-levle', '--log-level'],
    ['--prot', '--port'],
    ['--HOST', '--host'],
    ['--histroy=5', '--history'],
  ])('suggests %s for %s', (typed, suggestion) => {
    expect(suggestOption(typed, known)).toBe(suggestion);
  });

  it.each([['--frobnicate'], ['--max'], ['--log'], ['--'], ['-x'], ['--verbose']])(
    'suggests nothing for %s, which is not close to one option',
    (typed) => {
      expect(suggestOption(typed, known)).toBeUndefined();
    },
  );
});
