/**
 * The HTTP API with tokens (docs/SECURITY.md, "Tokens on HTTP").
 */
import { Authenticator, hashToken, parseAuthFile } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

interface ErrorBody {
  error: { code: string; message: string };
}

async function start() {
  const cheap = { ln: 4, r: 8, p: 1 };
  const text = [
    `token viewer ${await hashToken('viewer-token', cheap)} read=a/*`,
    `token writer ${await hashToken('writer-token', cheap)} write=a/*`,
    `token ops ${await hashToken('ops-token', cheap)} read=* admin`,
    'anonymous read=public/*',
  ].join('\n');
  const auth = new Authenticator(parseAuthFile(text), { failureDelayMs: 0 });
  const started = await fixture.start({ server: { auth } });
  started.server.ingest(Buffer.from('a/x 1\nb/x 2\npublic/p 3\n'));
  return { ...started, auth };
}

const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

describe('Authorization: Bearer (docs/SECURITY.md, "Tokens on HTTP")', () => {
  it('filters /api/sensors to what the token may read, anonymous clients included', async () => {
    const { base } = await start();
    const names = async (headers: Record<string, string>) =>
      (await fixture.request(`${base}/api/sensors`, { headers }))
        .json<{ sensors: { name: string }[] }>()
        .sensors.map((s) => s.name);
    expect(await names(bearer('viewer-token'))).toEqual(['a/x']);
    expect(await names(bearer('ops-token'))).toEqual(['a/x', 'b/x', 'public/p']);
    expect(await names({})).toEqual(['public/p']);
  });

  it('answers 401 with a challenge without a token, 401 for an unknown one, 403 for a missing right', async () => {
    const { base } = await start();
    const none = await fixture.request(`${base}/api/sensors/a/x`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="opc-lite"');
    expect(none.json<ErrorBody>().error).toEqual({
      code: 'auth-required',
      message: 'this request needs a token that may read a/x',
    });
    const wrong = await fixture.request(`${base}/api/sensors/a/x`, { headers: bearer('nope') });
    expect(wrong.status).toBe(401);
    expect(wrong.json<ErrorBody>().error.code).toBe('auth-failed');
    const malformed = await fixture.request(`${base}/api/sensors/a/x`, { headers: { Authorization: 'Basic eDp5' } });
    expect(malformed.json<ErrorBody>().error).toEqual({
      code: 'auth-failed',
      message: 'expected Authorization: Bearer <token>',
    });
    const forbidden = await fixture.request(`${base}/api/range?sensor=b/x&from=0`, { headers: bearer('viewer-token') });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json<ErrorBody>().error).toEqual({ code: 'forbidden', message: 'token viewer may not read b/x' });
    const ok = await fixture.request(`${base}/api/range?sensor=a/x&from=0`, { headers: bearer('viewer-token') });
    expect(ok.status).toBe(200);
  });

  it('needs admin for /metrics and leaves /healthz open', async () => {
    const { base } = await start();
    expect((await fixture.request(`${base}/metrics`, { headers: bearer('viewer-token') })).status).toBe(403);
    expect((await fixture.request(`${base}/metrics`, { headers: bearer('ops-token') })).status).toBe(200);
    expect((await fixture.request(`${base}/healthz`)).status).toBe(200);
  });

  it('stores a write only when the token may write every sensor in it', async () => {
    const { base, server } = await start();
    const post = (token: string, body: string) =>
      fixture.request(`${base}/api/write`, { method: 'POST', headers: bearer(token), body });
    const refused = await post('writer-token', 'a/y 1\nb/y 2\n');
    expect(refused.status).toBe(403);
    expect(refused.json<ErrorBody>().error.message).toBe('token writer may not write b/y; nothing was stored');
    expect(server.store.get('a/y')).toBeUndefined();
    expect((await post('writer-token', 'a/y 1\n')).status).toBe(200);
    expect(server.store.get('a/y')?.lastValue).toBe(1);
    expect((await post('viewer-token', 'a/z 1\n')).status).toBe(403);
  });

  it('streams only readable sensors, and follows a reload of the file', async () => {
    const { base, server, auth } = await start();
    // EventSource cannot send a header: the token comes as access_token.
    const stream = await fixture.stream(`${base}/api/stream?pattern=*&access_token=viewer-token`);
    await stream.next('hello');
    server.ingest(Buffer.from('b/x 5\na/x 6\n'));
    expect((await stream.readings(1)).map(([name]) => name)).toEqual(['a/x']);
    auth.reload(parseAuthFile(auth.config.tokens.map((t) => `token ${t.name} ${t.hash.text} read=b/*`).join('\n')));
    server.ingest(Buffer.from('a/x 7\nb/x 8\n'));
    expect((await stream.readings(1)).map(([name, , , value]) => [name, value])).toEqual([['b/x', 8]]);
    stream.close();
  });
});
