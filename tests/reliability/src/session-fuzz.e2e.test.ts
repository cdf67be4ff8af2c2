/**
 * A fuzz run over the TCP session against the real server: random streams of
 * valid and invalid commands, random bytes and legacy `n` polls, cut into
 * random chunks. The server must not crash, must answer every command in
 * order with the reply PROTOCOL.md "TCP commands and replies" gives it, and must count what it did: both for a
 * client that reads as it goes and for one that reads nothing until it has
 * sent everything, with replies far larger than its outbound budget (the
 * server then holds the commands past the budget and resumes them as the
 * output goes out).
 *
 * The expected replies come from a model: the protocol's CommandDecoder
 * (chunking-independent by contract, property-tested in its own package)
 * tells which commands the bytes hold, and the model answers each from the
 * server's store, which does not change during the run (no UDP is sent).
 */
import { CommandDecoder, ReplyDecoder, matchPattern, type Command, type Reply } from '@opc-lite/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigures } from './testing/figures.js';
import { closeAllServers, startServer, type ServerFixture } from './testing/server.js';
import { TcpClient } from './testing/tcp-client.js';
import { UdpSender } from './testing/udp.js';

const MAX_LINE_BYTES = 64;
const MAX_SUBSCRIPTIONS = 3;
const SENSORS = ['default', 'a', 'a.b', 'ramp/1', 'x-y_z', '__proto__', 'big'];

/** A server for the fuzz runs, and the limits the model needs. */
interface Target {
  fixture: ServerFixture;
  /** historyCapacity, which is also the cap of HIST and SUB backlogs. */
  history: number;
}

/** Starts a server with sensors of 1..9 readings each, plus `bigReadings` more for sensor `big`. */
async function target(history: number, bigReadings: number, outboundBudgetBytes?: number): Promise<Target> {
  const fixture = await startServer({
    maxLineBytes: MAX_LINE_BYTES,
    maxSubscriptionsPerClient: MAX_SUBSCRIPTIONS,
    historyCapacity: history,
    idleTimeoutMs: 0,
    ...(outboundBudgetBytes === undefined ? {} : { outboundBudgetBytes }),
  });
  const udp = await UdpSender.open();
  const lines = SENSORS.flatMap((name, i) => Array.from({ length: 1 + ((i * 4) % 9) }, (_, j) => `${name} ${i}.${j}`));
  const datagrams = [lines.join('\n')];
  for (let i = 0; i < bigReadings; i += 5000) datagrams.push('big 1\n'.repeat(Math.min(5000, bigReadings - i)));
  await udp.sendPaced(fixture.port, datagrams, fixture.waitReceived, 0, 1);
  udp.close();
  expect(fixture.server.stats().sensors).toBe(SENSORS.length);
  return { fixture, history };
}

let small: Target;
let large: Target;

beforeAll(async () => {
  small = await target(6, 0);
  // HIST big is 2,000 lines (~30 KB) against a 4 KiB budget: a client that does not read is held.
  large = await target(2000, 3000, 4096);
});

afterAll(closeAllServers);

// ---- the command stream -----------------------------------------------------

const ws = fc.constantFrom(' ', '  ', '\t', ' \t');
const eol = fc.constantFrom('\n', '\r\n');
const casing = (verb: string): fc.Arbitrary<string> =>
  fc
    .array(fc.boolean(), { minLength: verb.length, maxLength: verb.length })
    .map((upper) => [...verb].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const name = fc.constantFrom(...SENSORS, 'missing', 'constructor');
const pattern = fc.constantFrom('*', 'a*', '*1', 'a.*', '*_*', 'missing*', 'r*/1', 'default', '__proto__', 'p1', 'p2');
const count = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(2147483647), fc.constant(2147483648));
const line = (...parts: fc.Arbitrary<string>[]): fc.Arbitrary<string> =>
  fc
    .tuple(fc.constantFrom('', ' '), ...parts.flatMap((p, i) => (i === 0 ? [p] : [ws, p])), eol)
    .map((xs) => xs.join(''));

const validLines = (backlog: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    line(casing('ping')),
    line(casing('get'), name),
    line(casing('list')),
    line(casing('list'), pattern),
    line(casing('hist'), name),
    line(casing('hist'), name, count.map(String)),
    line(casing('sub'), pattern),
    line(casing('sub'), pattern, backlog),
    line(casing('unsub')),
    line(casing('unsub'), pattern),
    line(casing('stats')),
  );
const invalidLine = fc.oneof(
  line(fc.stringMatching(/^[A-MO-Za-mo-z][A-Za-z]{0,9}$/)), // unknown verbs (never starting with n)
  line(casing('get')),
  line(casing('get'), name, name),
  line(casing('get'), fc.constantFrom('bad!name', 'a'.repeat(129), 'sp ace')),
  line(casing('hist'), name, fc.constantFrom('0', '-1', 'x', '1.5')),
  line(casing('list'), pattern, pattern),
  line(casing('sub')),
  line(casing('ping'), name),
);
const polls = fc.constantFrom('n', 'N', 'nnn', 'n\n', 'n\r\n', 'nN');
// Random bytes, usually ending their line (else they run into the next item, often past maxLineBytes).
const randomBytes = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constantFrom('\n', '\n', '\n', ''))
  .map(([bytes, end]) => Buffer.concat([bytes, Buffer.from(end)]));
const text = (s: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> => s.map((x) => Buffer.from(x, 'latin1'));
const subscribe = fc.oneof(line(casing('sub'), pattern), line(casing('unsub'), pattern), line(casing('unsub')));
// Rarely, the stream ends with something that closes the connection.
const ending = fc.oneof(
  { weight: 8, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constant('QUIT\n') },
  { weight: 1, arbitrary: fc.constant(`GET ${'z'.repeat(MAX_LINE_BYTES + 10)}\n`) },
);
/**
 * A command stream. `backlogs`: SUB may ask for a backlog. Off for the client
 * that does not read, which is over its budget, where backlog pushes are
 * dropped by design; that client asks for large replies instead.
 */
const streamOf = (backlogs: boolean): fc.Arbitrary<Buffer> => {
  const item = fc.oneof(
    { weight: 6, arbitrary: text(validLines(backlogs ? count.map(String) : fc.constant('0'))) },
    { weight: 2, arbitrary: text(subscribe) },
    { weight: 3, arbitrary: text(invalidLine) },
    { weight: 3, arbitrary: text(polls) },
    { weight: 2, arbitrary: randomBytes },
    // Without backlogs the client is the one that does not read: give it large replies (HIST big).
    { weight: backlogs ? 0 : 2, arbitrary: text(line(casing('hist'), fc.constant('big'))) },
  );
  return fc
    .tuple(fc.array(item, { minLength: 1, maxLength: 60, size: 'max' }), text(ending))
    .map(([items, end]) => Buffer.concat([...items, end]));
};
const cuts = fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 12 });

function chunk(bytes: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of sorted) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

// ---- the model ---------------------------------------------------------------

/** What a reply must be: its kind and the fields that identify it. */
type Expected =
  | { kind: 'value' | 'pong' | 'end' | 'bye' | 'stat' }
  | { kind: 'val' | 'pub' | 'sensor'; name: string }
  | { kind: 'ok'; verb: string; detail: string }
  | { kind: 'err'; code: string };

interface ModelResult {
  replies: Expected[];
  /** Commands the server takes before it closes (all of them if it does not close). */
  commands: number;
  errors: number;
  polls: number;
  closes: boolean;
}

function model({ fixture, history: HISTORY }: Target, commands: readonly Command[]): ModelResult {
  const store = fixture.server.store;
  const statKeys = Object.keys(fixture.server.stats()).length;
  const subs = new Set<string>();
  const replies: Expected[] = [];
  let errors = 0;
  let polls = 0;
  const history = (kind: 'val' | 'pub', n: string, count: number): Expected[] =>
    Array.from({ length: Math.min(count, HISTORY, store.get(n)?.size ?? 0) }, () => ({ kind, name: n }));
  for (let i = 0; i < commands.length; i++) {
    const command = commands[i]!;
    const done = (closes: boolean): ModelResult => ({ replies, commands: i + 1, errors, polls, closes });
    switch (command.kind) {
      case 'poll':
        polls++;
        replies.push({ kind: 'value' });
        break;
      case 'ping':
        replies.push({ kind: 'pong' });
        break;
      case 'get':
        if (store.has(command.name)) {
          replies.push({ kind: 'val', name: command.name });
        } else {
          errors++;
          replies.push({ kind: 'err', code: 'not-found' });
        }
        break;
      case 'list':
        for (const s of store) {
          if (command.pattern === undefined || matchPattern(command.pattern, s.name)) {
            replies.push({ kind: 'sensor', name: s.name });
          }
        }
        replies.push({ kind: 'end' });
        break;
      case 'hist':
        if (!store.has(command.name)) {
          errors++;
          replies.push({ kind: 'err', code: 'not-found' });
        } else {
          replies.push(...history('val', command.name, command.count ?? HISTORY), { kind: 'end' });
        }
        break;
      case 'sub':
        if (!subs.has(command.pattern) && subs.size >= MAX_SUBSCRIPTIONS) {
          errors++;
          replies.push({ kind: 'err', code: 'too-many-subscriptions' });
          return done(true);
        }
        replies.push({ kind: 'ok', verb: 'SUB', detail: command.pattern });
        for (const s of store) {
          if (matchPattern(command.pattern, s.name)) {
            replies.push(...history('pub', s.name, command.backlog ?? 0));
          }
        }
        subs.add(command.pattern);
        break;
      case 'unsub': {
        let removed = 0;
        if (command.pattern === undefined) {
          removed = subs.size;
          subs.clear();
        } else if (subs.delete(command.pattern)) {
          removed = 1;
        }
        replies.push({ kind: 'ok', verb: 'UNSUB', detail: String(removed) });
        break;
      }
      case 'stats':
        for (let k = 0; k < statKeys; k++) replies.push({ kind: 'stat' });
        replies.push({ kind: 'end' });
        break;
      case 'quit':
        replies.push({ kind: 'bye' });
        return done(true);
      case 'invalid':
        errors++;
        replies.push({ kind: 'err', code: command.code });
        if (command.code === 'line-too-long') return done(true);
        break;
    }
  }
  return { replies, commands: commands.length, errors, polls, closes: false };
}

/** The identifying fields of a reply, in the shape of {@link Expected}. */
function shape(reply: Reply): Expected | Reply {
  switch (reply.kind) {
    case 'value':
    case 'pong':
    case 'end':
    case 'bye':
    case 'stat':
      return { kind: reply.kind };
    case 'val':
    case 'pub':
      return { kind: reply.kind, name: reply.reading.name };
    case 'sensor':
      return { kind: 'sensor', name: reply.summary.name };
    case 'ok':
      return { kind: 'ok', verb: reply.verb, detail: reply.detail };
    case 'err':
      return { kind: 'err', code: reply.code };
    default:
      return reply;
  }
}

// ---- the run -----------------------------------------------------------------

/** Sends one stream in chunks, reads every reply, and checks them and the counters against the model. */
async function check(
  on: Target,
  bytes: Buffer,
  points: readonly number[],
  readAsItGoes: boolean,
): Promise<ModelResult> {
  const { fixture } = on;
  const expected = model(on, new CommandDecoder({ maxLineBytes: MAX_LINE_BYTES }).push(bytes));
  const before = fixture.server.stats();

  const client = await TcpClient.connect(fixture.port, { keepReplies: false });
  const raw: Buffer[] = [];
  client.socket.on('data', (data: Buffer) => raw.push(data));
  if (!readAsItGoes) client.socket.pause();
  for (const part of chunk(bytes, points)) {
    if (client.closed || client.ended) break;
    await client.send(part).catch(() => undefined); // the server may have closed already
  }
  client.socket.end();
  client.socket.resume();
  await client.waitClosed();
  await expect.poll(() => fixture.server.stats().clients).toBe(0);

  const replies = new ReplyDecoder().push(Buffer.concat(raw)).map(shape);
  expect(replies).toEqual(expected.replies);
  const after = fixture.server.stats();
  expect({
    commands: after.commands - before.commands,
    command_errors: after.command_errors - before.command_errors,
    polls: after.polls - before.polls,
    subscriptions: after.subscriptions,
  }).toEqual({
    commands: expected.commands,
    command_errors: expected.errors,
    polls: expected.polls,
    subscriptions: 0,
  });
  return expected;
}

describe('TCP session fuzz', () => {
  it('answers random command streams in any chunking, in order and with the right replies, and counts them', async () => {
    let runs = 0;
    let totalCommands = 0;
    let closedByServer = 0;
    await fc.assert(
      fc.asyncProperty(streamOf(true), cuts, async (bytes, points) => {
        runs++;
        const expected = await check(small, bytes, points, true);
        totalCommands += expected.commands;
        if (expected.closes) closedByServer++;
      }),
      { numRuns: 200, interruptAfterTimeLimit: 30_000 },
    );
    recordFigures('session-fuzz', { runs, totalCommands, closedByServer });
    expect(runs).toBeGreaterThanOrEqual(100);
  }, 60_000);

  it('answers them all, in order, to a client that reads nothing until it has sent everything', async () => {
    let runs = 0;
    let totalCommands = 0;
    let replyBytesOverBudget = 0;
    await fc.assert(
      fc.asyncProperty(streamOf(false), cuts, async (bytes, points) => {
        runs++;
        const expected = await check(large, bytes, points, false);
        totalCommands += expected.commands;
        if (expected.replies.filter((r) => r.kind === 'val').length > 1000) replyBytesOverBudget++;
      }),
      { numRuns: 100, interruptAfterTimeLimit: 30_000 },
    );
    recordFigures('session-fuzz-unread', { runs, totalCommands, runsWithRepliesOverBudget: replyBytesOverBudget });
    expect(runs).toBeGreaterThanOrEqual(50);
    expect(replyBytesOverBudget).toBeGreaterThan(0);
  }, 60_000);
});
