/**
 * Guessing tokens from one address while good clients go on (docs/SECURITY.md, "Guessing tokens"): the attack is
 * cut off for its address only. The latency it costs them is scenario 18 of the benchmarks, not a test.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, HOST } from '../testing/fixture.js';
import { LineClient } from '../testing/line-client.js';
import { parseAuthFile } from './auth-file.js';
import { Authenticator } from './authenticator.js';
import { hashToken } from './hash.js';

const fixture = new Fixture();
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await fixture.cleanup();
});

/** A line client connecting from `localAddress` (any of 127.0.0.0/8 is this machine on Linux). */
async function connectFrom(port: number, localAddress: string): Promise<LineClient> {
  const socket = net.connect({ host: HOST, port, localAddress });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return new LineClient(socket);
}

/** One wrong token on a new connection; resolves with the reply line once the server has closed or answered. */
function guess(port: number, i: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(`AUTH wrong-${i}\n`));
    socket.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text.split('\n')[0] ?? ''));
  });
}

describe('1,000 wrong tokens from one address, 8 connections at once', () => {
  it('leave a client of another address free to authenticate and be served during the attack', async () => {
    const good = 'good-token-0123456789';
    const auth = new Authenticator(
      parseAuthFile(`token poller ${await hashToken(good, { ln: 8, r: 8, p: 1 })} read=*\n`),
      { failureDelayMs: 10, maxFailureDelayMs: 100 },
    );
    const { address, server } = await fixture.start({ auth });
    server.ingest(Buffer.from('default 1\n'));

    let sent = 0;
    let polls = 0;
    const replies: string[] = [];
    // At least 1,000, and on until the other client has been served 50 times: the polls happen during the attack.
    const worker = async (): Promise<void> => {
      while (sent < 1000 || polls < 50) replies.push(await guess(address.port, sent++));
    };
    const attack = Promise.all(Array.from({ length: 8 }, worker));

    // Once the attacker's address is refused, a client of another address authenticates and polls.
    await expect.poll(() => auth.stats().auth_addresses_blocked).toBe(1);
    const other = await connectFrom(address.port, '127.0.0.2');
    other.send(`AUTH ${good}\n`);
    expect(await other.next()).toBe('OK AUTH poller');
    while (polls < 50) {
      other.send('n');
      expect(await other.next()).toBe('1');
      polls++;
    }
    await attack;

    expect(replies.length).toBeGreaterThanOrEqual(1000);
    expect(replies.every((r) => r.startsWith('ERR auth-failed '))).toBe(true);
    expect(auth.stats()).toMatchObject({ auth_failed: 5, auth_refused: replies.length - 5, auth_ok: 1 });
    // The attacker's address stays refused, even with the right token; the other one is served still.
    expect(await guess(address.port, -1)).toMatch(/too many failed attempts/);
    other.send('GET default\n');
    expect(await other.next()).toMatch(/^VAL default 1 /);
  });
});
