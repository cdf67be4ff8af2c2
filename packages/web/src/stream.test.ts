import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEventId } from './stream.js';

const nameChar = fc.constantFrom(...'abcXYZ019_.-/');
const name = fc.string({ unit: nameChar, minLength: 1, maxLength: 20 });

describe('parseEventId', () => {
  it('reads back every id a stream writes (name:seq, comma-separated)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, fc.maxSafeNat()), { selector: ([n]) => n, maxLength: 20 }), (pairs) => {
        const id = pairs.map(([n, seq]) => `${n}:${seq}`).join(',');
        expect(parseEventId(id)).toEqual(new Map(pairs));
      }),
    );
  });

  it('refuses what no stream writes', () => {
    for (const bad of [
      'ramp',
      ':1',
      'ramp:',
      'ramp:-1',
      'ramp:1.5',
      'ramp:1,',
      'a b:1',
      'ramp:1,ramp:2',
      'ramp:99999999999999999',
    ]) {
      expect([bad, parseEventId(bad)]).toEqual([bad, undefined]);
    }
    expect(parseEventId('')).toEqual(new Map());
  });
});
