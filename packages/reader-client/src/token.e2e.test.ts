import { Authenticator, hashToken, parseAuthFile } from '@opc-lite/opc-server';
import { ProtocolError } from '@opc-lite/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from './client.js';
import { resolveOptions } from './options.js';
import { cleanup, defer, startBareServer, startServer } from './testing/fixtures.js';

afterEach(cleanup);

async function authServer() {
  const hash = await hashToken('viewer-token', { ln: 4, r: 8, p: 1 });
  const auth = new Authenticator(parseAuthFile(`token viewer ${hash} read=a/*\n`), { failureDelayMs: 0 });
  const test = await startServer({ auth });
  await test.send(['a/x 1', 'b/x 2']);
  await vi.waitFor(() => expect(test.server.store.size).toBe(2));
  return test;
}

describe('token (docs/SECURITY.md, "Tokens on TCP")', () => {
  it('authenticates before the first request and reads with the token rights', async () => {
    const { port } = await authServer();
    const client = await connect({ port, token: 'viewer-token' });
    defer(() => client.close());
    expect((await client.get('a/x')).value).toBe(1);
    expect((await client.list()).map((s) => s.name)).toEqual(['a/x']);
    await expect(client.get('b/x')).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('rejects connect with auth-failed, naming the server, when the token is refused', async () => {
    const { port } = await authServer();
    const error: unknown = await connect({ port, token: 'wrong-token', reconnect: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'auth-failed' });
    expect((error as Error).message).toBe(`auth-failed: 127.0.0.1:${port} refused the token: unknown token`);
  });

  it('without a token, gets auth-required from a server that checks tokens', async () => {
    const { port } = await authServer();
    const client = await connect({ port });
    defer(() => client.close());
    await expect(client.get('a/x')).rejects.toMatchObject({ code: 'auth-required' });
  });

  it('sends AUTH first on every connection, reconnections included', async () => {
    const bare = await startBareServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('latin1').split('\n')) {
          if (line.startsWith('AUTH ')) socket.write('OK AUTH viewer\n');
          if (line === 'PING') socket.write('PONG\n');
        }
      });
    });
    defer(() => bare.close());
    const client = await connect({ port: bare.port, token: 't0k', reconnect: { initialDelayMs: 1, maxDelayMs: 5 } });
    defer(() => client.close());
    await client.ping();
    const first = bare.sockets[0]!;
    const second = bare.nextConnection();
    first.destroy();
    await second;
    await client.ping();
    expect(
      bare
        .received()
        .split('\n')
        .filter((l) => l !== ''),
    ).toEqual(['AUTH t0k', 'PING', 'AUTH t0k', 'PING']);
  });

  it('refuses a token the server could not read', () => {
    expect(() => resolveOptions({ token: 'two words' })).toThrow(RangeError);
    expect(() => resolveOptions({ token: 5 as unknown as string })).toThrow(TypeError);
    expect(resolveOptions({ token: 'ok' }).token).toBe('ok');
  });
});
