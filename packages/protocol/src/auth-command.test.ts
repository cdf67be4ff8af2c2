import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandDecoder, encodeCommand, isValidToken, MAX_TOKEN_BYTES, type Command } from './commands.js';
import { ERROR_CODES, CLOSING_ERROR_CODES } from './errors.js';
import { decodeReplyLine, encodeError, encodeOk } from './replies.js';
import { bytes, cut, cutPoints } from './testing/bytes.js';

const decode = (text: string): Command[] => new CommandDecoder().push(bytes(text));

/** Printable ASCII without the blank: every byte a token may hold. */
const tokenArb = fc
  .array(
    fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    { minLength: 1, maxLength: MAX_TOKEN_BYTES },
  )
  .map((chars) => chars.join(''));

describe('AUTH (docs/SECURITY.md, "Tokens on TCP")', () => {
  it('decodes AUTH <token> in any case of the verb, the token kept as written', () => {
    expect(decode('AUTH s3cr3t-Token_1\nauth A.b:c/d=\n')).toEqual([
      { kind: 'auth', token: 's3cr3t-Token_1' },
      { kind: 'auth', token: 'A.b:c/d=' },
    ]);
  });

  it('answers a missing or extra argument with the usage and never echoes a bad token', () => {
    expect(decode('AUTH\nAUTH a b\n')).toEqual([
      { kind: 'invalid', code: 'bad-args', detail: 'usage: AUTH <token>' },
      { kind: 'invalid', code: 'bad-args', detail: 'usage: AUTH <token>' },
    ]);
    const long = 'x'.repeat(MAX_TOKEN_BYTES + 1);
    expect(decode(`AUTH ${long}\nAUTH caf\u00e9\n`)).toEqual([
      { kind: 'invalid', code: 'bad-args', detail: 'invalid token' },
      { kind: 'invalid', code: 'bad-args', detail: 'invalid token' },
    ]);
  });

  it('decodes what encodeCommand wrote for any valid token, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { minLength: 1, maxLength: 5 }), cutPoints, (tokens, points) => {
        const commands = tokens.map((token): Command => ({ kind: 'auth', token }));
        const decoder = new CommandDecoder();
        const data = bytes(commands.map(encodeCommand).join(''));
        expect(cut(data, points).flatMap((chunk) => decoder.push(chunk))).toEqual(commands);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses to encode a token the server could not read', () => {
    for (const token of ['', 'two words', 'tab\there', 'caf\u00e9', 'x'.repeat(MAX_TOKEN_BYTES + 1)]) {
      expect(isValidToken(token)).toBe(false);
      expect(() => encodeCommand({ kind: 'auth', token })).toThrow(RangeError);
    }
    expect(isValidToken('x'.repeat(MAX_TOKEN_BYTES))).toBe(true);
  });

  it('has reply codes for a refused token, a missing one and a missing right, none of which closes by itself', () => {
    for (const code of ['auth-required', 'auth-failed', 'forbidden'] as const) {
      expect(ERROR_CODES).toContain(code);
      expect(CLOSING_ERROR_CODES.has(code)).toBe(false);
      expect(decodeReplyLine(encodeError(code, 'why').trimEnd())).toEqual({ kind: 'err', code, detail: 'why' });
    }
    expect(decodeReplyLine(encodeOk('AUTH', 'dashboard').trimEnd())).toEqual({
      kind: 'ok',
      verb: 'AUTH',
      detail: 'dashboard',
    });
  });
});
