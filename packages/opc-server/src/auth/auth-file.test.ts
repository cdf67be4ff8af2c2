import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFileError, loadAuthFile, parseAuthFile } from './auth-file.js';
import { hashToken } from './hash.js';

const H1 = await hashToken('one', { ln: 4, r: 8, p: 1 });
const H2 = await hashToken('two', { ln: 4, r: 8, p: 1 });

const errorOf = (text: string): AuthFileError => {
  try {
    parseAuthFile(text, 'auth.conf');
  } catch (err) {
    if (err instanceof AuthFileError) return err;
    throw err;
  }
  throw new Error('parsed without an error');
};

describe('parseAuthFile (docs/SECURITY.md, "The auth file")', () => {
  it('reads tokens with their rights and the anonymous rights, skipping comments and blank lines', () => {
    const config = parseAuthFile(
      `# tokens\n\ntoken dashboard ${H1} read=plant1/*,default\r\ntoken ops\t${H2}  read=* write=a/*  write=b admin\nanonymous read=public/*\n`,
    );
    expect(config.tokens.map((t) => [t.name, t.rights.toString(), t.line])).toEqual([
      ['dashboard', 'read=plant1/*,default', 3],
      ['ops', 'read=* write=a/*,b admin', 4],
    ]);
    expect(config.anonymous.canRead('public/x')).toBe(true);
    expect(config.anonymous.canRead('plant1/x')).toBe(false);
    expect(config.anonymous.admin).toBe(false);
  });

  it('gives anonymous clients nothing when the file has no anonymous line', () => {
    const config = parseAuthFile(`token a ${H1} read=*\n`);
    expect(config.anonymous.readsAny).toBe(false);
    expect(config.anonymous.canRead('default')).toBe(false);
  });

  it.each<[string, string, RegExp]>([
    ['an unknown entry', `token a ${H1}\nuser b`, /line 2: unknown entry "user"/],
    ['a missing hash', 'token a', /line 1: usage: token <name> <hash>/],
    ['a bad name', `token a$b ${H1}`, /line 1: invalid token name/],
    ['a repeated name', `token a ${H1}\ntoken a ${H2}`, /line 2: token name a is already used on line 1/],
    [
      'a token pasted as the hash',
      'token a plain-secret read=*',
      /line 1: the hash of token a is not valid: expected a hash from `opc-server hash-token`/,
    ],
    ['one hash twice', `token a ${H1}\ntoken b ${H1}`, /line 2: token b has the same hash as line 1/],
    ['an unknown right', `token a ${H1} reed=*`, /line 1: unknown right "reed=\*"/],
    ['an empty pattern list', `token a ${H1} read=`, /line 1: read= needs one or more patterns/],
    ['a bad pattern', `token a ${H1} read=a,,b`, /line 1: invalid read pattern ""/],
    ['admin for anonymous clients', 'anonymous admin', /line 1: anonymous clients cannot be given admin/],
    [
      'two anonymous lines',
      'anonymous read=a\n\nanonymous read=b',
      /line 3: anonymous rights are already given on line 1/,
    ],
  ])('names the line of %s', (_what, text, message) => {
    const err = errorOf(text);
    expect(err.message).toMatch(/^auth\.conf line \d+: /);
    expect(err.message).toMatch(message);
    expect(err.code).toBe('ERR_AUTH_FILE');
  });

  it('never puts what stood in the hash field into the message', () => {
    expect(errorOf('token a my-real-secret-token').message).not.toContain('my-real-secret-token');
  });
});

describe('loadAuthFile', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'opc-auth-'));
    dirs.push(d);
    return d;
  };

  it('says which file cannot be read and why', () => {
    const file = path.join(tmp(), 'missing');
    expect(() => loadAuthFile(file)).toThrow(new RegExp(`^${file}: cannot read the auth file: ENOENT`));
  });

  it('warns about a file every user may read', () => {
    const file = path.join(tmp(), 'auth');
    fs.writeFileSync(file, `token a ${H1} read=*\n`, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const warnings: string[] = [];
    expect(loadAuthFile(file, warnings).tokens).toHaveLength(1);
    if (process.platform !== 'win32')
      expect(warnings).toEqual([`${file} can be read by every user of this machine; chmod 600 it`]);
    fs.chmodSync(file, 0o600);
    const none: string[] = [];
    loadAuthFile(file, none);
    expect(none).toEqual([]);
  });
});
