import type net from 'node:net';
import { Authenticator, hashToken, parseAuthFile } from '@opc-lite/opc-server';
import { ProtocolError } from '@opc-lite/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from './client.js';
import { ConnectionError, TimeoutError, UnexpectedReplyError } from './errors.js';
import { pollOnce } from './poll-once.js';
import { cleanup, closedPort, defer, startBareServer, startServer } from './testing/fixtures.js';

afterEach(cleanup);

/** The original Python server's whole TCP side: answer `n` with the latest value, then hang up. */
function pythonLike(answer: string): (socket: net.Socket) => void {
  return (socket) => {
    socket.once('data', (chunk) => {
      if (chunk.toString('latin1').startsWith('n')) socket.end(answer);
      else socket.destroy();
    });
  };
}

describe('pollOnce', () => {
  it('sends n and reads the answer of a server that hangs up after it', async () => {
    const bare = await startBareServer(pythonLike('0.5\n'));
    expect(await pollOnce({ port: bare.port })).toBe(0.5);
    expect(bare.received()).toBe('n');
  });

  it('accepts an answer without a line end when the server hangs up', async () => {
    const bare = await startBareServer(pythonLike('1e-05'));
    expect(await pollOnce({ port: bare.port })).toBe(1e-5);
  });

  it('reads nan as NaN', async () => {
    const bare = await startBareServer(pythonLike('nan\n'));
    expect(await pollOnce({ port: bare.port })).toBeNaN();
  });

  it('polls the real server one connection per poll, as the original lector', async () => {
    const t = await startServer();
    expect(await pollOnce({ port: t.port })).toBeNaN();
    await t.send('0.25');
    await expect.poll(() => pollOnce({ port: t.port })).toBe(0.25);
    await expect.poll(() => t.server.stats().clients).toBe(0);
  });

  it('rejects with an UnexpectedReplyError for an answer that is not a number', async () => {
    const bare = await startBareServer(pythonLike('hello\n'));
    await expect(pollOnce({ port: bare.port })).rejects.toBeInstanceOf(UnexpectedReplyError);
  });

  it('rejects with a ConnectionError when nothing listens or the server hangs up silently', async () => {
    await expect(pollOnce({ port: await closedPort() })).rejects.toBeInstanceOf(ConnectionError);
    const bare = await startBareServer(pythonLike(''));
    await expect(pollOnce({ port: bare.port })).rejects.toBeInstanceOf(ConnectionError);
  });

  it('times out against a server that never answers, and honours abort', async () => {
    const bare = await startBareServer();
    await expect(pollOnce({ port: bare.port, timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    const reason = new Error('enough');
    const controller = new AbortController();
    const polling = pollOnce({ port: bare.port, signal: controller.signal });
    controller.abort(reason);
    await expect(polling).rejects.toBe(reason);
  });
});

describe('OpcClient.poll against the original server', () => {
  it('reads the answer the server sends before hanging up without a line end', async () => {
    const bare = await startBareServer(pythonLike('0.75'));
    const client = await connect({ port: bare.port });
    defer(() => client.close());
    expect(await client.poll()).toBe(0.75);
  });
});

describe('pollOnce with a token (docs/SECURITY.md, "Tokens on TCP")', () => {
  async function authServer() {
    const hash = await hashToken('poll-token', { ln: 4, r: 8, p: 1 });
    const auth = new Authenticator(parseAuthFile(`token poller ${hash} read=default\n`), { failureDelayMs: 0 });
    const t = await startServer({ auth });
    await t.send('0.75');
    await vi.waitFor(() => expect(t.server.store.get('default')?.lastValue).toBe(0.75));
    return t;
  }

  it('sends AUTH first and reads the value with the token rights', async () => {
    const t = await authServer();
    expect(await pollOnce({ port: t.port, token: 'poll-token' })).toBe(0.75);
  });

  it('without the token, rejects with the server auth-required', async () => {
    const t = await authServer();
    await expect(pollOnce({ port: t.port })).rejects.toMatchObject({ code: 'auth-required' });
  });

  it('rejects with auth-failed, naming the server, when the token is refused', async () => {
    const t = await authServer();
    const error: unknown = await pollOnce({ port: t.port, token: 'wrong-token' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({
      code: 'auth-failed',
      message: `auth-failed: 127.0.0.1:${t.port} refused the token: unknown token`,
    });
  });

  it('reads the answer to AUTH and the value from one chunk, or from pieces', async () => {
    for (const pieces of [['OK AUTH poller\n0.5\n'], ['OK AU', 'TH poller', '\n', '0.', '5']]) {
      const bare = await startBareServer((socket) => {
        socket.once('data', () => {
          for (const piece of pieces.slice(0, -1)) socket.write(piece);
          socket.end(pieces.at(-1)!);
        });
      });
      expect(await pollOnce({ port: bare.port, token: 't0k' })).toBe(0.5);
      expect(bare.received()).toBe('AUTH t0k\nn');
    }
  });

  it('refuses a token the server could not read', () => {
    expect(() => pollOnce({ token: 'two words' })).toThrow(RangeError);
  });
});
