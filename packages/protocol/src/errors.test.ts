import { describe, expect, it } from 'vitest';
import { CLOSING_ERROR_CODES, ERROR_CODES, ProtocolError, REJECT_REASONS, isErrorCode } from './errors.js';

describe('error codes', () => {
  it('closes the connection after exactly the codes PROTOCOL.md "Errors" lists, plus line-too-long, idle-timeout, shutting-down and tls-required', () => {
    expect([...CLOSING_ERROR_CODES].sort()).toEqual(
      [
        'idle-timeout',
        'line-too-long',
        'server-busy',
        'shutting-down',
        'slow-consumer',
        'too-many-subscriptions',
        'tls-required',
      ].sort(),
    );
    for (const code of CLOSING_ERROR_CODES) expect(ERROR_CODES).toContain(code);
  });

  it('tells codes of the closed list from other strings', () => {
    for (const code of ERROR_CODES) expect(isErrorCode(code)).toBe(true);
    expect(isErrorCode('oops')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('lists every reject reason once', () => {
    expect(new Set(REJECT_REASONS).size).toBe(REJECT_REASONS.length);
    expect(REJECT_REASONS).toContain('too-many-sensors');
  });

  it('keeps the reasons in the order the server prints its rejected_<reason> STATS keys, new ones last', () => {
    expect(REJECT_REASONS).toEqual([
      'bad-number',
      'bad-name',
      'bad-timestamp',
      'bad-sequence',
      'bad-syntax',
      'unsupported-type',
      'line-too-long',
      'too-many-sensors',
      'too-large',
      'too-deep',
      'forbidden',
    ]);
  });

  it('carries code, detail and cause in ProtocolError', () => {
    const cause = new Error('socket');
    const err = new ProtocolError('not-found', 'ramp', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProtocolError');
    expect(err.code).toBe('not-found');
    expect(err.detail).toBe('ramp');
    expect(err.message).toBe('not-found: ramp');
    expect(err.cause).toBe(cause);
    expect(new ProtocolError('server-busy').message).toBe('server-busy');
  });
});
