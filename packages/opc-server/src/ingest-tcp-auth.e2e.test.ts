import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAuthFile } from './auth/auth-file.js';
import { Authenticator, type AuthenticatorOptions } from './auth/authenticator.js';
import { hashToken } from './auth/hash.js';
import { TcpIngest } from './ingest-tcp.js';
import { createOpcServer, type OpcServer } from './server.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const FAST = { ln: 4, r: 8, p: 1 };

async function authFile(anonymous = 'anonymous write=public/*'): Promise<string> {
  const line3 = await hashToken('line3-token', FAST);
  const ops = await hashToken('ops-token', FAST);
  return `token line3 ${line3} write=line3/*\ntoken ops ${ops} read=* write=* admin\n${anonymous}\n`;
}

async function start(
  text: string | undefined,
  options: AuthenticatorOptions = {},
): Promise<{ server: OpcServer; auth: Authenticator | undefined; port: number }> {
  const auth =
    text === undefined ? undefined : new Authenticator(parseAuthFile(text), { failureDelayMs: 0, ...options });
  const server = createOpcServer({ port: 0, ...(auth && { auth }) });
  open.push(server);
  const ingest = await TcpIngest.listen(server, { host: '127.0.0.1', port: 0, maxLineBytes: 1024, maxConnections: 8 });
  open.push(ingest);
  return { server, auth, port: ingest.port };
}

/** A sender: what it writes goes out at once; `text` is everything the port answered so far. */
async function sender(port: number): Promise<{ socket: net.Socket; text: () => string; closed: Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  open.push({ close: () => Promise.resolve(void socket.destroy()) });
  return { socket, text: () => text, closed };
}

describe('write rights on the TCP ingest port (docs/SECURITY.md, "Writing on the ingest paths")', () => {
  it('checks a connection without AUTH against the anonymous write patterns, and counts the rest as forbidden', async () => {
    const { server, port } = await start(await authFile());
    const s = await sender(port);
    s.socket.write('private/b 2\nnas.cpu-0.idle 98 1764316800\npublic/a 1\n');
    await expect.poll(() => server.store.get('public/a')?.lastValue).toBe(1);
    expect(server.store.get('private/b')).toBeUndefined();
    expect(server.store.get('nas.cpu-0.idle')).toBeUndefined();
    const stats = server.stats();
    expect(stats.ingest_tcp_accepted).toBe(1);
    expect(stats.ingest_tcp_rejected).toBe(2);
    expect(stats.ingest_tcp_rejected_forbidden).toBe(2);
    expect(stats.rejected_forbidden).toBe(2);
    expect(s.text()).toBe('');
  });

  it('writes with the rights of the token of a first line AUTH, answered OK AUTH <name>', async () => {
    const { server, auth, port } = await start(await authFile());
    const s = await sender(port);
    // Pipelined: the lines after AUTH wait for its answer and are judged with the token's rights.
    s.socket.write('AUTH line3-token\r\nline3/temp 21.5\npublic/a 1\nline3/done 1\n');
    await expect.poll(() => server.store.get('line3/done')?.lastValue).toBe(1);
    expect(server.store.get('line3/temp')?.lastValue).toBe(21.5);
    expect(server.store.get('public/a')).toBeUndefined(); // the token's patterns replace the anonymous ones
    expect(s.text()).toBe('OK AUTH line3\n');
    expect(server.stats().ingest_tcp_rejected_forbidden).toBe(1);
    expect(auth!.stats().auth_ok).toBe(1);
  });

  it('takes an AUTH line cut into pieces, and a connection whose first bytes only look like it', async () => {
    const { server, port } = await start(await authFile('anonymous write=AUTO,public/*'));
    const s = await sender(port);
    for (const piece of ['AU', 'T', 'H line3-', 'token', '\nline3/x', ' 5\n']) s.socket.write(piece);
    await expect.poll(() => server.store.get('line3/x')?.lastValue).toBe(5);
    expect(s.text()).toBe('OK AUTH line3\n');
    const other = await sender(port);
    for (const piece of ['AU', 'TO 7\n']) other.socket.write(piece);
    await expect.poll(() => server.store.get('AUTO')?.lastValue).toBe(7);
    expect(other.text()).toBe('');
  });

  it('answers a wrong token ERR auth-failed and closes, storing nothing sent after it', async () => {
    const { server, auth, port } = await start(await authFile());
    const s = await sender(port);
    s.socket.write('AUTH wrong-token\npublic/a 1\n');
    await s.closed;
    expect(s.text()).toBe('ERR auth-failed unknown token\n');
    expect(server.store.get('public/a')).toBeUndefined();
    expect(auth!.stats().auth_failed).toBe(1);
    expect(server.stats().ingest_tcp_accepted).toBe(0);
  });

  it('counts failures per address with the TCP port, and refuses the right token too once the address is refused', async () => {
    const { server, auth, port } = await start(await authFile(), { maxFailures: 2 });
    for (let i = 0; i < 2; i++) {
      const s = await sender(port);
      s.socket.write(`AUTH guess-${i}\n`);
      await s.closed;
    }
    const s = await sender(port);
    s.socket.write('AUTH line3-token\nline3/x 1\n');
    await s.closed;
    expect(s.text()).toMatch(/^ERR auth-failed too many failed attempts/);
    expect(server.store.get('line3/x')).toBeUndefined();
    expect(auth!.stats().auth_refused).toBe(1);
  });

  it('applies a reload: changed rights at once, a withdrawn token ends the connection', async () => {
    const text = await authFile();
    const { server, auth, port } = await start(text);
    const line3 = await sender(port);
    line3.socket.write('AUTH line3-token\nline3/a 1\n');
    const anon = await sender(port);
    anon.socket.write('public/a 1\n');
    await expect.poll(() => server.store.get('line3/a')?.seq).toBe(1);
    await expect.poll(() => server.store.get('public/a')?.seq).toBe(1);

    // The anonymous rights change to other/*; the line3 token is gone.
    const ops = text.split('\n').find((l) => l.startsWith('token ops'))!;
    expect(auth!.reload(parseAuthFile(`${ops}\nanonymous write=other/*\n`))).toEqual({
      kept: 0,
      changed: 1,
      revoked: 1,
    });
    await line3.closed;
    expect(line3.text()).toBe('OK AUTH line3\nERR auth-failed token line3 is no longer valid\n');
    anon.socket.write('public/a 2\nother/b 3\n');
    await expect.poll(() => server.store.get('other/b')?.lastValue).toBe(3);
    expect(server.store.get('public/a')?.seq).toBe(1);
    expect(auth!.stats().auth_revoked).toBe(1);
  });

  it('without an auth file, answers AUTH that no token is needed and stores every reading', async () => {
    const { server, port } = await start(undefined);
    const s = await sender(port);
    s.socket.write('AUTH some-token\nanything/x 1\n');
    await expect.poll(() => server.store.get('anything/x')?.lastValue).toBe(1);
    expect(s.text()).toBe('ERR auth-failed this server takes no tokens (no auth file)\n');
  });
});
