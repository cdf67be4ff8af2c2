/**
 * `/api/stream` across reloads of the auth file (docs/SECURITY.md, "Reloading the file").
 */
import { Authenticator, hashToken, parseAuthFile } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

const cheap = { ln: 4, r: 8, p: 1 };

async function start() {
  const lines = {
    viewer: `token viewer ${await hashToken('viewer-token', cheap)} read=a/*`,
    ops: `token ops ${await hashToken('ops-token', cheap)} read=* admin`,
    anonymous: 'anonymous read=public/*',
  };
  const auth = new Authenticator(parseAuthFile(Object.values(lines).join('\n')), { failureDelayMs: 0 });
  const started = await fixture.start({ server: { auth } });
  const reload = (text: string) => auth.reload(parseAuthFile(text));
  return { ...started, auth, lines, reload };
}

describe('a stream after a reload of the auth file', () => {
  it('ends with a closed event saying auth-failed when its token is withdrawn', async () => {
    const { base, server, lines, reload } = await start();
    const stream = await fixture.stream(`${base}/api/stream?pattern=*`, { Authorization: 'Bearer viewer-token' });
    await stream.next('hello');
    server.ingest(Buffer.from('a/x 1\n'));
    expect((await stream.readings(1)).map(([name]) => name)).toEqual(['a/x']);
    expect(reload(`${lines.ops}\n${lines.anonymous}`)).toMatchObject({ revoked: 1 });
    const closed = await stream.next('closed');
    expect(JSON.parse(closed.data)).toEqual({
      error: { code: 'auth-failed', message: 'token viewer is no longer valid' },
    });
    await expect(stream.next()).rejects.toThrow(/ended/);
    expect(server.hub.subscriptionCount).toBe(0);
  });

  it('ends with forbidden when its token may read no sensor any more, auth-required when anonymous', async () => {
    const { base, lines, reload } = await start();
    const viewer = await fixture.stream(`${base}/api/stream?access_token=viewer-token`);
    const anonymous = await fixture.stream(`${base}/api/stream`);
    await viewer.next('hello');
    await anonymous.next('hello');
    reload(`${lines.viewer.replace(' read=a/*', '')}\n${lines.ops}`);
    expect(JSON.parse((await viewer.next('closed')).data)).toEqual({
      error: { code: 'forbidden', message: 'token viewer may read no sensor now' },
    });
    expect(JSON.parse((await anonymous.next('closed')).data)).toEqual({
      error: { code: 'auth-required', message: 'anonymous clients may read no sensor now' },
    });
  });

  it('stops carrying what is no longer readable, readings already queued included, and goes on', async () => {
    const { base, server, lines, reload } = await start();
    const stream = await fixture.stream(`${base}/api/stream?pattern=a/*&access_token=viewer-token`);
    await stream.next('hello');
    // Queued in this turn with the old rights, written at its end with the new ones.
    server.ingest(Buffer.from('a/x 1\na/1 2\n'));
    expect(reload(`${lines.viewer.replace('read=a/*', 'read=a/1')}\n${lines.ops}`)).toMatchObject({ changed: 1 });
    server.ingest(Buffer.from('a/x 3\na/1 4\n'));
    expect((await stream.readings(2)).map(([name, , , value]) => [name, value])).toEqual([
      ['a/1', 2],
      ['a/1', 4],
    ]);
    expect(stream.ended).toBe(false);
    // A reload that changes nothing for it keeps it as it is.
    expect(reload(`${lines.viewer.replace('read=a/*', 'read=a/1')}\n${lines.ops}`)).toMatchObject({ kept: 1 });
    server.ingest(Buffer.from('a/1 5\n'));
    expect((await stream.readings(1))[0]![3]).toBe(5);
    stream.close();
  });
});
