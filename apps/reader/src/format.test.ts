import { describe, expect, it } from 'vitest';
import { CSV_HEADER, formatCsv, formatPlain } from './format.js';

describe('formatPlain', () => {
  it('prints time, sensor, value and seq on one line', () => {
    expect(formatPlain({ name: 'ramp', value: 0.25, timestampMs: 1764316800125, seq: 7 })).toBe(
      '2025-11-28T08:00:00.125Z ramp 0.25 7\n',
    );
  });

  it('leaves out the seq of a legacy poll and prints nan before any reading', () => {
    expect(formatPlain({ name: 'default', value: NaN, timestampMs: 0, seq: undefined })).toBe(
      '1970-01-01T00:00:00.000Z default nan\n',
    );
  });
});

describe('formatCsv', () => {
  it('prints rows that match the header', () => {
    expect(CSV_HEADER).toBe('time,sensor,value,seq\n');
    expect(formatCsv({ name: 'a/b', value: -1e-7, timestampMs: 0, seq: 3 })).toBe(
      '1970-01-01T00:00:00.000Z,a/b,-1e-7,3\n',
    );
    expect(formatCsv({ name: 'default', value: 1, timestampMs: 0, seq: undefined })).toBe(
      '1970-01-01T00:00:00.000Z,default,1,\n',
    );
  });
});
