/**
 * Tokens and rights over TCP sessions, without a port (docs/SECURITY.md, "What each right allows").
 */
import { describe, expect, it } from 'vitest';
import { Hub } from '../hub.js';
import { Session, type SessionCloseReason } from '../session.js';
import { SensorStore } from '../store.js';
import { duplexPair } from '../testing/duplex-pair.js';
import { LineClient } from '../testing/line-client.js';
import { parseAuthFile } from './auth-file.js';
import { Authenticator, type AuthenticatorOptions } from './authenticator.js';
import { hashToken } from './hash.js';

const CHEAP = { ln: 4, r: 8, p: 1 };
const TOKENS = { reader: 'tok-reader', writer: 'tok-writer', admin: 'tok-admin', limited: 'tok-limited' };
const HASHES = Object.fromEntries(
  await Promise.all(Object.entries(TOKENS).map(async ([name, t]) => [name, await hashToken(t, CHEAP)] as const)),
) as Record<keyof typeof TOKENS, string>;

const fileText = (limitedRights = 'read=a/*', anonymous = 'read=public/*'): string =>
  [
    `token reader ${HASHES.reader} read=*`,
    `token writer ${HASHES.writer} write=*`,
    `token admin ${HASHES.admin} read=* write=* admin`,
    `token limited ${HASHES.limited} ${limitedRights}`,
    `anonymous ${anonymous}`,
  ].join('\n');

function world(options: AuthenticatorOptions = {}, text = fileText()) {
  const store = new SensorStore({ historyCapacity: 5, now: () => 1_764_316_800_000 });
  const hub = new Hub<Session>(store);
  const auth = new Authenticator(parseAuthFile(text), { failureDelayMs: 0, ...options });
  const ingest = (name: string, value: number): void => {
    const sensor = store.ingest(name, value, Number.NaN, -1);
    if (sensor) hub.publish(sensor);
  };
  for (const name of ['a/x', 'b/x', 'public/p', 'default']) ingest(name, 1);
  let port = 40000;
  const connect = () => {
    const [serverEnd, clientEnd] = duplexPair();
    const closes: SessionCloseReason[] = [];
    const session = new Session(
      serverEnd,
      { store, hub, auth, limits: { idleTimeoutMs: 0 }, onClose: (_s, reason) => closes.push(reason) },
      { remote: `10.0.0.1:${port++}` },
    );
    return { session, client: new LineClient(clientEnd), closes };
  };
  return { store, hub, auth, ingest, connect };
}

type Principal = 'none' | 'wrong' | 'reader' | 'writer' | 'admin' | 'limited';

/** A connection as `who`: AUTH sent and answered (nothing for `none`). */
async function as(w: ReturnType<typeof world>, who: Principal) {
  const c = w.connect();
  if (who === 'none') return c;
  c.client.send(`AUTH ${who === 'wrong' ? 'not-a-token' : TOKENS[who]}\n`);
  expect(await c.client.next()).toBe(who === 'wrong' ? 'ERR auth-failed unknown token' : `OK AUTH ${who}`);
  return c;
}

/** The outcome of one command: the reply's verb, or `ERR <code>`, or for LIST the sensors listed. */
async function outcome(client: LineClient, line: string): Promise<string> {
  client.send(`${line}\n`);
  const first = await client.next();
  if (first.startsWith('ERR ')) return first.split(' ').slice(0, 2).join(' ');
  if (line === 'LIST') {
    const names = [first, ...(first === 'END' ? [] : await client.until('END'))]
      .filter((l) => l.startsWith('SENSOR '))
      .map((l) => l.split(' ')[1]);
    return `LIST ${names.join(',')}`;
  }
  if (line === 'STATS') await client.until('END');
  return first === 'PONG' || first === 'BYE' || first === '1' ? first : first.split(' ').slice(0, 2).join(' ');
}

const REQ = 'ERR auth-required';
const NO = 'ERR forbidden';
const VERBS = [
  'n',
  'PING',
  'GET a/x',
  'GET b/x',
  'LIST',
  'HIST a/x 1',
  'RANGE a/x 0 now',
  'AFTER a/x 0',
  'SUB a/*',
  'UNSUB',
  'STATS',
  'QUIT',
];
const EXPECTED: Record<Principal, string[]> = {
  none: [REQ, 'PONG', REQ, REQ, 'LIST public/p', REQ, REQ, REQ, 'OK SUB', 'OK UNSUB', REQ, 'BYE'],
  wrong: [REQ, 'PONG', REQ, REQ, 'LIST public/p', REQ, REQ, REQ, 'OK SUB', 'OK UNSUB', REQ, 'BYE'],
  reader: [
    '1',
    'PONG',
    'VAL a/x',
    'VAL b/x',
    'LIST a/x,b/x,public/p,default',
    'VAL a/x',
    'VAL a/x',
    'OK AFTER',
    'OK SUB',
    'OK UNSUB',
    NO,
    'BYE',
  ],
  writer: [NO, 'PONG', NO, NO, NO, NO, NO, NO, NO, 'OK UNSUB', NO, 'BYE'],
  admin: [
    '1',
    'PONG',
    'VAL a/x',
    'VAL b/x',
    'LIST a/x,b/x,public/p,default',
    'VAL a/x',
    'VAL a/x',
    'OK AFTER',
    'OK SUB',
    'OK UNSUB',
    'STAT uptime_ms',
    'BYE',
  ],
  limited: [NO, 'PONG', 'VAL a/x', NO, 'LIST a/x', 'VAL a/x', 'VAL a/x', 'OK AFTER', 'OK SUB', 'OK UNSUB', NO, 'BYE'],
};

describe('rights of every verb (docs/SECURITY.md, "What each right allows")', () => {
  const cases = (Object.keys(EXPECTED) as Principal[]).flatMap((who) =>
    VERBS.map((verb, i) => [who, verb, EXPECTED[who][i]!] as const),
  );
  it.each(cases)('as %s, %s gives %s', async (who, verb, expected) => {
    const w = world();
    const { client } = await as(w, who);
    expect(await outcome(client, verb)).toBe(expected);
  });

  it('lets an anonymous client poll n when the file grants read of default', async () => {
    const w = world({}, fileText('read=a/*', 'read=public/*,default'));
    const { client } = w.connect();
    client.send('n');
    expect(await client.next()).toBe('1');
  });

  it('answers AUTH on a server without tokens with auth-failed', async () => {
    const store = new SensorStore();
    const [serverEnd, clientEnd] = duplexPair();
    new Session(serverEnd, { store, hub: new Hub<Session>(store), limits: { idleTimeoutMs: 0 } });
    const client = new LineClient(clientEnd);
    client.send('AUTH x\nPING\n');
    expect(await client.take(2)).toEqual(['ERR auth-failed this server takes no tokens (no auth file)', 'PONG']);
  });
});

describe('subscriptions under rights (docs/SECURITY.md, "Rights")', () => {
  it('never delivers b/x to a subscriber limited to a/*, even a sensor that appears after the SUB', async () => {
    const w = world();
    const { client } = await as(w, 'limited');
    client.send('SUB * 1\n');
    expect(await client.take(2)).toEqual(['OK SUB *', expect.stringMatching(/^PUB a\/x 1 /)]);
    w.ingest('b/x', 2);
    w.ingest('b/new', 3);
    w.ingest('a/new', 4);
    // Pushes keep their order: a b/x line would come before this one.
    expect(await client.next()).toMatch(/^PUB a\/new 4 /);
    client.send('PING\n');
    expect(await client.next()).toBe('PONG');
  });

  it('answers the commands sent after AUTH in order, once the token is checked', async () => {
    const w = world();
    const { client } = w.connect();
    client.send(`AUTH ${TOKENS.limited}\nGET a/x\nGET b/x\nAUTH wrong\nGET a/x\n`);
    const lines = await client.take(5);
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'OK AUTH',
      'VAL a/x',
      'ERR forbidden',
      'ERR auth-failed',
      'VAL a/x', // a failed AUTH keeps the identity the connection had
    ]);
  });

  it('closes the connection after three failed AUTHs', async () => {
    const w = world({ maxFailures: 100 });
    const { client, closes } = w.connect();
    client.send('AUTH a\nAUTH b\nAUTH c\nPING\n');
    expect(await client.rest()).toEqual([
      'ERR auth-failed unknown token',
      'ERR auth-failed unknown token',
      'ERR auth-failed unknown token',
    ]);
    expect(closes).toEqual(['auth-failed']);
  });
});

describe('reload (docs/SECURITY.md, "Reloading the file")', () => {
  it('keeps connections whose rights did not change, applies changed rights at once, and ends revoked tokens', async () => {
    const w = world();
    const limited = await as(w, 'limited');
    const reader = await as(w, 'reader');
    const writer = await as(w, 'writer');
    const anonymous = w.connect();
    limited.client.send('SUB *\n');
    expect(await limited.client.next()).toBe('OK SUB *');

    const text = fileText('read=b/*').replace(/^token writer .*$/m, '');
    expect(w.auth.reload(parseAuthFile(text))).toEqual({ kept: 2, changed: 1, revoked: 1 });

    // limited: a/* taken away, b/* given, on the same connection and subscription.
    w.ingest('a/x', 5);
    w.ingest('b/x', 6);
    expect(await limited.client.next()).toMatch(/^PUB b\/x 6 /);
    expect(await outcome(limited.client, 'GET a/x')).toBe(NO);
    // reader and the anonymous client: unchanged.
    expect(await outcome(reader.client, 'GET a/x')).toBe('VAL a/x');
    expect(await outcome(anonymous.client, 'LIST')).toBe('LIST public/p');
    // writer: its token is gone.
    expect(await writer.client.rest()).toEqual(['ERR auth-failed token writer is no longer valid']);
    expect(writer.closes).toEqual(['auth-failed']);
    expect(w.auth.stats()).toMatchObject({ auth_revoked: 1, auth_reloads: 1, auth_tokens: 3 });
  });

  it('ends a connection whose token was given a new hash', async () => {
    const w = world();
    const c = await as(w, 'reader');
    const rehashed = fileText().replace(HASHES.reader, await hashToken('new-reader-token', CHEAP));
    expect(w.auth.reload(parseAuthFile(rehashed)).revoked).toBe(1);
    expect(await c.client.rest()).toEqual(['ERR auth-failed token reader is no longer valid']);
  });
});

describe('failed AUTHs from one address (docs/SECURITY.md, "Guessing tokens")', () => {
  it('refuses the address without a check after maxFailures, while a client already in keeps its rights', async () => {
    const w = world({ maxFailures: 5, maxFailuresPerConnection: 3 });
    const good = await as(w, 'reader');
    const replies: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = w.connect();
      c.client.send('AUTH wrong\nAUTH wrong\nAUTH wrong\n');
      replies.push(...(await c.client.rest()));
    }
    expect(replies.filter((r) => r === 'ERR auth-failed unknown token')).toHaveLength(4);
    expect(replies.filter((r) => r.includes('too many failed attempts'))).toHaveLength(9);
    expect(w.auth.stats()).toMatchObject({ auth_failed: 5, auth_refused: 8, auth_addresses_blocked: 1 });
    // The right token from the refused address is refused too, until the block ends.
    const late = w.connect();
    late.client.send(`AUTH ${TOKENS.reader}\n`);
    expect(await late.client.rest()).toEqual([
      'ERR auth-failed too many failed attempts from this address; try again later',
    ]);
    expect(await outcome(good.client, 'GET a/x')).toBe('VAL a/x');
  });
});
