import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, parseTokenHash, SCRYPT_DEFAULTS, verifyToken } from './hash.js';

const CHEAP = { ln: 4, r: 8, p: 1 };

describe('token hashes (docs/SECURITY.md, "Stored hashes")', () => {
  it('verifies the token a hash was made from and no other', async () => {
    const hash = parseTokenHash(await hashToken('s3cret-token', CHEAP))!;
    expect(await verifyToken('s3cret-token', hash)).toBe(true);
    expect(await verifyToken('s3cret-tokeN', hash)).toBe(false);
    expect(await verifyToken('', hash)).toBe(false);
  });

  it('writes a PHC string with the parameters, a fresh salt every time, and never the token', async () => {
    const a = await hashToken('same', CHEAP);
    const b = await hashToken('same', CHEAP);
    expect(a).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('same');
    expect(SCRYPT_DEFAULTS).toEqual({ ln: 14, r: 8, p: 1 });
  });

  it('refuses a stored string it did not write, saying what it expected', () => {
    for (const text of [
      'plain-token',
      '$scrypt$ln=99,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdA',
      '$argon2id$v=19$x',
    ]) {
      const why: string[] = [];
      expect(parseTokenHash(text, why)).toBeUndefined();
      expect(why[0]).toMatch(/hash-token|out of range/);
    }
  });

  it('refuses an empty token and a cost out of range', async () => {
    await expect(hashToken('', CHEAP)).rejects.toThrow(RangeError);
    await expect(hashToken('x', { ln: 30, r: 8, p: 1 })).rejects.toThrow(/ln must be/);
  });

  it('generates distinct 43-character base64url tokens', () => {
    const tokens = new Set(Array.from({ length: 50 }, generateToken));
    expect(tokens.size).toBe(50);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
