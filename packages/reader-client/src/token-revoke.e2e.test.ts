/**
 * A token withdrawn by the server is final (docs/SECURITY.md, "Reloading the file"): no reconnect with it.
 */
import { once } from 'node:events';
import { Authenticator, hashToken, parseAuthFile } from '@opc-lite/opc-server';
import { ProtocolError } from '@opc-lite/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from './client.js';
import { cleanup, defer, startBareServer, startServer } from './testing/fixtures.js';

afterEach(cleanup);

const fast = { initialDelayMs: 1, maxDelayMs: 5 };

describe('a token the server withdraws', () => {
  it('closes the client with auth-failed after a reload, without reconnecting, its subscription too', async () => {
    const cheap = { ln: 4, r: 8, p: 1 };
    const ops = `token ops ${await hashToken('ops-token', cheap)} read=*`;
    const auth = new Authenticator(
      parseAuthFile(`${ops}\ntoken viewer ${await hashToken('viewer-token', cheap)} read=*\n`),
      { failureDelayMs: 0 },
    );
    const { port } = await startServer({ auth });
    const client = await connect({ port, token: 'viewer-token', reconnect: fast });
    defer(() => client.close());
    const reconnects: number[] = [];
    client.on('reconnecting', ({ attempt }) => reconnects.push(attempt));
    const sub = client.subscribe('*');
    await sub.ready;
    const closed = once(client, 'close');
    expect(auth.reload(parseAuthFile(`${ops}\n`))).toMatchObject({ revoked: 1 });
    await closed;
    expect(client.state).toBe('closed');
    expect(reconnects).toEqual([]);
    const error: unknown = await sub.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'auth-failed', detail: 'token viewer is no longer valid' });
    expect(auth.stats().auth_failed).toBe(0); // the withdrawn token was not tried again
  });

  it('treats a server ERR auth-failed before it hangs up as final, but not shutting-down', async () => {
    for (const [code, reconnects] of [
      ['auth-failed', 0],
      ['shutting-down', 1],
    ] as const) {
      const bare = await startBareServer((socket) => {
        socket.on('data', (chunk: Buffer) => {
          const text = chunk.toString('latin1');
          if (text.includes('AUTH ')) socket.write('OK AUTH viewer\n');
          if (text.includes('PING')) socket.write('PONG\n');
        });
      });
      const client = await connect({ port: bare.port, token: 't0k', reconnect: fast });
      defer(() => client.close());
      const attempts: number[] = [];
      client.on('reconnecting', ({ attempt }) => attempts.push(attempt));
      await client.ping();
      const ended = once(client, code === 'auth-failed' ? 'close' : 'connect');
      bare.sockets[0]!.end(`ERR ${code} why\n`);
      await ended;
      expect(attempts.length).toBe(reconnects);
    }
  });
});
