/**
 * Tokens over real loopback sockets (docs/SECURITY.md, "Guessing tokens").
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, HOST } from '../testing/fixture.js';
import { parseAuthFile } from './auth-file.js';
import { Authenticator } from './authenticator.js';
import { hashToken } from './hash.js';

const TOO_MANY = 'ERR auth-failed too many failed attempts from this address; try again later';
const fixture = new Fixture();
afterEach(() => fixture.cleanup());

/** Connects, sends `AUTH <token>`, returns the first reply line and whether the server then closed. */
function tryToken(port: number, token: string): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let data = '';
    let reply: string | undefined;
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(`AUTH ${token}\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
      const lf = data.indexOf('\n');
      if (reply === undefined && lf >= 0) {
        reply = data.slice(0, lf);
        // A connection the server keeps open is ended by the client.
        if (!reply.includes('too many')) socket.end();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ reply: reply ?? '', closed: true }));
  });
}

describe('1,000 wrong tokens from one address', () => {
  it('are slowed and cut off after maxFailures, while an authenticated client keeps polling', async () => {
    const good = 'good-token-0123456789';
    const config = parseAuthFile(`token poller ${await hashToken(good, { ln: 10, r: 8, p: 1 })} read=*\n`);
    const auth = new Authenticator(config, { failureDelayMs: 20, maxFailureDelayMs: 200, maxFailures: 5 });
    const { address, server } = await fixture.start({ auth });
    server.ingest(Buffer.from('default 1\n'));

    const poller = await fixture.connect(address.port);
    poller.send(`AUTH ${good}\n`);
    expect(await poller.next()).toBe('OK AUTH poller');

    let attacking = true;
    const latencies: number[] = [];
    const polling = (async () => {
      // Bounded: stops when the attack ends, and after 100,000 polls at most.
      for (let i = 0; attacking && i < 100_000; i++) {
        const t = performance.now();
        poller.send('n');
        expect(await poller.next()).toBe('1');
        latencies.push(performance.now() - t);
      }
    })();

    const replies = new Map<string, number>();
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 1000) {
        const i = next++;
        const { reply } = await tryToken(address.port, `wrong-${i}`);
        replies.set(reply, (replies.get(reply) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    attacking = false;
    await polling;
    const attackMs = performance.now() - started;

    // Every attempt got an answer; only maxFailures of them were checked, the rest refused at once.
    expect([...replies.values()].reduce((a, b) => a + b, 0)).toBe(1000);
    const failed = (replies.get('ERR auth-failed unknown token') ?? 0) + (replies.get(TOO_MANY) ?? 0);
    expect(failed).toBe(1000);
    expect(replies.get(TOO_MANY)).toBeGreaterThanOrEqual(995);
    const stats = server.stats() as unknown as Record<string, number>;
    expect(stats).toMatchObject({ auth_failed: 5, auth_refused: 995, auth_addresses_blocked: 1 });
    // The poller was never refused or closed.
    expect(latencies.length).toBeGreaterThan(0);
    poller.send('GET default\n');
    expect(await poller.next()).toMatch(/^VAL default 1 /);

    latencies.sort((a, b) => a - b);
    const p = (q: number): string =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(3);
    console.log(
      `auth brute force: 1000 wrong tokens in ${attackMs.toFixed(0)} ms; poller ${latencies.length} polls, ` +
        `p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms`,
    );
  });
});
