import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandDecoder, encodeCommand, type Command } from './commands.js';
import type { TimeArg } from './time-arg.js';
import { bytes, cut, cutPoints, nameArb, oneByteAtATime, patternArb, streamBytes } from './testing/bytes.js';

const decode = (text: string | Uint8Array, options?: { maxLineBytes?: number }): Command[] =>
  new CommandDecoder(options).push(typeof text === 'string' ? bytes(text) : text);

const decodeChunks = (chunks: readonly Uint8Array[], options?: { maxLineBytes?: number }): Command[] => {
  const decoder = new CommandDecoder(options);
  return chunks.flatMap((chunk) => decoder.push(chunk));
};

const badArgs = (detail: string): Command => ({ kind: 'invalid', code: 'bad-args', detail });
const unknown = (detail: string): Command => ({ kind: 'invalid', code: 'unknown-command', detail });

describe('CommandDecoder: verbs (PROTOCOL.md "TCP commands and replies")', () => {
  it.each<[string, Command[]]>([
    ['PING\n', [{ kind: 'ping' }]],
    ['GET ramp\n', [{ kind: 'get', name: 'ramp' }]],
    ['LIST\n', [{ kind: 'list', pattern: undefined }]],
    ['LIST plant1/*\n', [{ kind: 'list', pattern: 'plant1/*' }]],
    ['HIST ramp\n', [{ kind: 'hist', name: 'ramp', count: undefined }]],
    ['HIST ramp 20\n', [{ kind: 'hist', name: 'ramp', count: 20 }]],
    ['HIST ramp 2147483647\n', [{ kind: 'hist', name: 'ramp', count: 2147483647 }]],
    ['SUB *\n', [{ kind: 'sub', pattern: '*', backlog: undefined }]],
    ['SUB ramp* 0\n', [{ kind: 'sub', pattern: 'ramp*', backlog: 0 }]],
    ['SUB ramp* 100\n', [{ kind: 'sub', pattern: 'ramp*', backlog: 100 }]],
    ['UNSUB\n', [{ kind: 'unsub', pattern: undefined }]],
    ['UNSUB ramp*\n', [{ kind: 'unsub', pattern: 'ramp*' }]],
    ['STATS\n', [{ kind: 'stats' }]],
    ['QUIT\n', [{ kind: 'quit' }]],
    ['GET __proto__\n', [{ kind: 'get', name: '__proto__' }]],
    [
      'RANGE ramp -15m now\n',
      [
        {
          kind: 'range',
          name: 'ramp',
          from: { kind: 'ago', amount: 15, unit: 'm' },
          to: { kind: 'now' },
          points: undefined,
        },
      ],
    ],
    [
      'range ramp 1764316800000 1764316800125.5 60\n',
      [
        {
          kind: 'range',
          name: 'ramp',
          from: { kind: 'at', ms: 1764316800000 },
          to: { kind: 'at', ms: 1764316800125.5 },
          points: 60,
        },
      ],
    ],
    [
      'RANGE a -7d -6h 100000\n',
      [
        {
          kind: 'range',
          name: 'a',
          from: { kind: 'ago', amount: 7, unit: 'd' },
          to: { kind: 'ago', amount: 6, unit: 'h' },
          points: 100000,
        },
      ],
    ],
    ['AFTER ramp 42\n', [{ kind: 'after', name: 'ramp', seq: 42 }]],
    ['after ramp 0\n', [{ kind: 'after', name: 'ramp', seq: 0 }]],
    ['AFTER ramp 9007199254740991\n', [{ kind: 'after', name: 'ramp', seq: 9007199254740991 }]],
  ])('decodes %j', (input, expected) => {
    expect(decode(input)).toEqual(expected);
  });

  it.each(['ping', 'Ping', 'pInG', 'PING'])('reads the verb case-insensitively: %s', (verb) => {
    expect(decode(`${verb}\n`)).toEqual([{ kind: 'ping' }]);
  });

  it('reads lower-case verbs of every command and keeps the arguments as written', () => {
    expect(decode('get Ramp\nlist R*\nhist Ramp 2\nsub R* 1\nunsub R*\nstats\nquit\n')).toEqual([
      { kind: 'get', name: 'Ramp' },
      { kind: 'list', pattern: 'R*' },
      { kind: 'hist', name: 'Ramp', count: 2 },
      { kind: 'sub', pattern: 'R*', backlog: 1 },
      { kind: 'unsub', pattern: 'R*' },
      { kind: 'stats' },
      { kind: 'quit' },
    ]);
  });

  it('accepts CRLF, surrounding blanks, runs of blanks between fields and skips empty lines', () => {
    expect(decode('\r\n\n  GET \t ramp  \r\n\r\n\t\n HIST  ramp\t5\n')).toEqual([
      { kind: 'get', name: 'ramp' },
      { kind: 'hist', name: 'ramp', count: 5 },
    ]);
  });

  it.each<[string, Command]>([
    ['PING extra\n', badArgs('usage: PING')],
    ['STATS x\n', badArgs('usage: STATS')],
    ['QUIT now\n', badArgs('usage: QUIT')],
    ['GET\n', badArgs('usage: GET <name>')],
    ['GET a b\n', badArgs('usage: GET <name>')],
    ['GET bad$name\n', badArgs('invalid name: bad$name')],
    ['GET ramp*\n', badArgs('invalid name: ramp*')],
    [`GET ${'n'.repeat(129)}\n`, badArgs(`invalid name: ${'n'.repeat(64)}`)],
    ['LIST a b\n', badArgs('usage: LIST [<pattern>]')],
    ['LIST a?\n', badArgs('invalid pattern: a?')],
    ['HIST\n', badArgs('usage: HIST <name> [<count>]')],
    ['HIST ramp 1 2\n', badArgs('usage: HIST <name> [<count>]')],
    ['HIST ramp 0\n', badArgs('invalid count: 0')],
    ['HIST ramp -1\n', badArgs('invalid count: -1')],
    ['HIST ramp 1.5\n', badArgs('invalid count: 1.5')],
    ['HIST ramp 2147483648\n', badArgs('invalid count: 2147483648')],
    ['HIST ramp* 5\n', badArgs('invalid name: ramp*')],
    ['SUB\n', badArgs('usage: SUB <pattern> [<backlog>]')],
    ['SUB a 1 2\n', badArgs('usage: SUB <pattern> [<backlog>]')],
    ['SUB a:b\n', badArgs('invalid pattern: a:b')],
    ['SUB * x\n', badArgs('invalid backlog: x')],
    ['SUB * 99999999999999999999\n', badArgs('invalid backlog: 99999999999999999999')],
    ['UNSUB a b\n', badArgs('usage: UNSUB [<pattern>]')],
    ['UNSUB a?\n', badArgs('invalid pattern: a?')],
    ['GET r\u00e9\n', badArgs('invalid name: r??')],
    ['RANGE\n', badArgs('usage: RANGE <name> <from> <to> [<points>]')],
    ['RANGE ramp -1m\n', badArgs('usage: RANGE <name> <from> <to> [<points>]')],
    ['RANGE ramp -1m now 5 6\n', badArgs('usage: RANGE <name> <from> <to> [<points>]')],
    ['RANGE ramp -1m now 5 6 7 8\n', badArgs('usage: RANGE <name> <from> <to> [<points>]')],
    ['RANGE ramp* -1m now\n', badArgs('invalid name: ramp*')],
    ['RANGE ramp 1m now\n', badArgs('invalid time: 1m')],
    ['RANGE ramp -1m later\n', badArgs('invalid time: later')],
    ['RANGE ramp -1.5h now\n', badArgs('invalid time: -1.5h')],
    ['RANGE ramp 100000000000000 now\n', badArgs('invalid time: 100000000000000')],
    ['RANGE ramp -1m now 0\n', badArgs('invalid points: 0')],
    ['RANGE ramp -1m now 100001\n', badArgs('invalid points: 100001')],
    ['RANGE ramp -1m now x\n', badArgs('invalid points: x')],
    ['AFTER ramp\n', badArgs('usage: AFTER <name> <seq>')],
    ['AFTER ramp 1 2\n', badArgs('usage: AFTER <name> <seq>')],
    ['AFTER ram? 1\n', badArgs('invalid name: ram?')],
    ['AFTER ramp -1\n', badArgs('invalid seq: -1')],
    ['AFTER ramp 9007199254740992\n', badArgs('invalid seq: 9007199254740992')],
    ['RANGES ramp -1m now\n', unknown('RANGES')],
    ['FOO bar\n', unknown('FOO')],
    ['GETS ramp\n', unknown('GETS')],
    ['\u00ff\u00fe\n', unknown('????')],
    [`${'X'.repeat(100)}\n`, unknown('X'.repeat(64))],
    ['\u0001PING\n', unknown('?PING')],
    [' n\n', unknown('n')],
  ])('answers %j with %j', (input, expected) => {
    expect(decode(input)).toEqual([expected]);
  });

  it('does not throw on invalid UTF-8 and NUL bytes', () => {
    expect(decode(Uint8Array.of(0x47, 0x45, 0x54, 0x20, 0xc3, 0x28, 0x00, 0x0a))).toEqual([
      badArgs('invalid name: ?(?'),
    ]);
  });
});

describe('CommandDecoder: legacy poll (PROTOCOL.md "TCP commands and replies")', () => {
  it.each<[string, number]>([
    ['n', 1],
    ['N', 1],
    ['nnn', 3],
    ['n\n', 1],
    ['n\r\n', 1],
    ['n\r', 1],
    ['n\r\nn\r\nn', 3],
    ['\n\nn', 1],
  ])('answers %j with %i polls', (input, polls) => {
    expect(decode(input)).toEqual(Array.from({ length: polls }, () => ({ kind: 'poll' })));
  });

  it('emits a poll at once, before any line end arrives', () => {
    const decoder = new CommandDecoder();
    expect(decoder.push(bytes('n'))).toEqual([{ kind: 'poll' }]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('consumes the LF after an n even when it comes in the next chunk', () => {
    const decoder = new CommandDecoder();
    expect(decoder.push(bytes('n'))).toEqual([{ kind: 'poll' }]);
    expect(decoder.push(bytes('\r'))).toEqual([]);
    expect(decoder.push(bytes('\n'))).toEqual([]);
    expect(decoder.push(bytes('PING\n'))).toEqual([{ kind: 'ping' }]);
  });

  it('mixes polls and commands in one stream', () => {
    expect(decode('nPING\nnGET ramp\nn')).toEqual([
      { kind: 'poll' },
      { kind: 'ping' },
      { kind: 'poll' },
      { kind: 'get', name: 'ramp' },
      { kind: 'poll' },
    ]);
  });

  it('treats an n inside a line as part of that line', () => {
    expect(decode('GET n\n')).toEqual([{ kind: 'get', name: 'n' }]);
  });
});

describe('CommandDecoder: incremental input', () => {
  it('waits for the LF of a command split across chunks', () => {
    const decoder = new CommandDecoder();
    expect(decoder.push(bytes('GE'))).toEqual([]);
    expect(decoder.pendingBytes).toBe(2);
    expect(decoder.push(bytes('T ra'))).toEqual([]);
    expect(decoder.pendingBytes).toBe(6);
    expect(decoder.push(bytes('mp\r'))).toEqual([]);
    expect(decoder.push(bytes('\nPI'))).toEqual([{ kind: 'get', name: 'ramp' }]);
    expect(decoder.pendingBytes).toBe(2);
  });

  it('yields one line-too-long as soon as the limit is passed and discards the rest of the line', () => {
    const decoder = new CommandDecoder({ maxLineBytes: 8 });
    expect(decoder.push(bytes('GET abcd'))).toEqual([]);
    expect(decoder.push(bytes('e'))).toEqual([
      { kind: 'invalid', code: 'line-too-long', detail: 'line exceeds 8 bytes' },
    ]);
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.push(bytes('more n stuff'))).toEqual([]);
    expect(decoder.push(bytes('\nnPING\n'))).toEqual([{ kind: 'poll' }, { kind: 'ping' }]);
  });

  it('counts the CR before the LF against maxLineBytes', () => {
    expect(decode('GET abcd\nGET abcd\r\n', { maxLineBytes: 8 })).toEqual([
      { kind: 'get', name: 'abcd' },
      { kind: 'invalid', code: 'line-too-long', detail: 'line exceeds 8 bytes' },
    ]);
  });

  it('stays within maxLineBytes while fed 10 MB without an LF', () => {
    const decoder = new CommandDecoder();
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    const out: Command[] = [];
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) {
      out.push(...decoder.push(chunk));
      expect(decoder.pendingBytes).toBeLessThanOrEqual(1024);
    }
    expect(out).toEqual([{ kind: 'invalid', code: 'line-too-long', detail: 'line exceeds 1024 bytes' }]);
    expect(decoder.push(bytes('\nPING\n'))).toEqual([{ kind: 'ping' }]);
  });

  it('stays within maxLineBytes when the long line comes one small chunk at a time', () => {
    const decoder = new CommandDecoder({ maxLineBytes: 100 });
    let errors = 0;
    for (let k = 0; k < 5000; k++) {
      errors += decoder.push(bytes('GET ')).length;
      expect(decoder.pendingBytes).toBeLessThanOrEqual(100);
    }
    expect(errors).toBe(1);
  });

  it('validates maxLineBytes', () => {
    expect(() => new CommandDecoder({ maxLineBytes: 0 })).toThrow(RangeError);
    expect(() => new CommandDecoder({ maxLineBytes: Infinity })).toThrow(RangeError);
  });
});

describe('CommandDecoder: properties', () => {
  const maxLineBytes = fc.integer({ min: 1, max: 48 });

  it('never throws on arbitrary bytes and buffers at most maxLineBytes', () => {
    fc.assert(
      fc.property(streamBytes, cutPoints, maxLineBytes, (data, points, max) => {
        const decoder = new CommandDecoder({ maxLineBytes: max });
        for (const chunk of cut(data, points)) {
          for (const cmd of decoder.push(chunk)) expect(typeof cmd.kind).toBe('string');
          expect(decoder.pendingBytes).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('yields the same commands however the stream is cut, one byte at a time included', () => {
    fc.assert(
      fc.property(streamBytes, cutPoints, maxLineBytes, (data, points, max) => {
        const whole = decode(data, { maxLineBytes: max });
        expect(decodeChunks(cut(data, points), { maxLineBytes: max })).toEqual(whole);
        expect(decodeChunks(oneByteAtATime(data), { maxLineBytes: max })).toEqual(whole);
      }),
      { numRuns: 1000 },
    );
  });

  const timeArb: fc.Arbitrary<TimeArg> = fc.oneof(
    fc.constant<TimeArg>({ kind: 'now' }),
    fc.integer({ min: 0, max: 1e14 - 1 }).map((ms): TimeArg => ({ kind: 'at', ms })),
    fc
      .double({ min: 0, max: 1e14, maxExcluded: true, noNaN: true })
      .map((ms): TimeArg => ({ kind: 'at', ms: ms || 0 })),
    fc
      .tuple(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom('ms' as const, 's' as const, 'm' as const, 'h' as const, 'd' as const),
      )
      .map(([amount, unit]): TimeArg => ({ kind: 'ago', amount, unit })),
  );
  const count = (min: number) => fc.option(fc.integer({ min, max: 2147483647 }), { nil: undefined });
  const commandArb: fc.Arbitrary<Command> = fc.oneof(
    fc.constant<Command>({ kind: 'poll' }),
    fc.constant<Command>({ kind: 'ping' }),
    fc.constant<Command>({ kind: 'stats' }),
    fc.constant<Command>({ kind: 'quit' }),
    nameArb.map((name): Command => ({ kind: 'get', name })),
    fc.option(patternArb, { nil: undefined }).map((pattern): Command => ({ kind: 'list', pattern })),
    fc.tuple(nameArb, count(1)).map(([name, c]): Command => ({ kind: 'hist', name, count: c })),
    fc.tuple(patternArb, count(0)).map(([pattern, backlog]): Command => ({ kind: 'sub', pattern, backlog })),
    fc.option(patternArb, { nil: undefined }).map((pattern): Command => ({ kind: 'unsub', pattern })),
    fc
      .tuple(nameArb, timeArb, timeArb, fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }))
      .map(([name, from, to, points]): Command => ({ kind: 'range', name, from, to, points })),
    fc.tuple(nameArb, fc.maxSafeNat()).map(([name, seq]): Command => ({ kind: 'after', name, seq })),
  );

  it('decodes what encodeCommand wrote, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 10 }), cutPoints, (commands, points) => {
        const data = bytes(commands.map(encodeCommand).join(''));
        expect(decodeChunks(cut(data, points))).toEqual(commands);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('encodeCommand', () => {
  it.each<[Command, string]>([
    [{ kind: 'poll' }, 'n'],
    [{ kind: 'ping' }, 'PING\n'],
    [{ kind: 'get', name: 'ramp' }, 'GET ramp\n'],
    [{ kind: 'list', pattern: undefined }, 'LIST\n'],
    [{ kind: 'list', pattern: 'r*' }, 'LIST r*\n'],
    [{ kind: 'hist', name: 'ramp', count: undefined }, 'HIST ramp\n'],
    [{ kind: 'hist', name: 'ramp', count: 20 }, 'HIST ramp 20\n'],
    [{ kind: 'sub', pattern: '*', backlog: undefined }, 'SUB *\n'],
    [{ kind: 'sub', pattern: '*', backlog: 5 }, 'SUB * 5\n'],
    [{ kind: 'unsub', pattern: undefined }, 'UNSUB\n'],
    [{ kind: 'unsub', pattern: 'r*' }, 'UNSUB r*\n'],
    [{ kind: 'stats' }, 'STATS\n'],
    [{ kind: 'quit' }, 'QUIT\n'],
    [
      {
        kind: 'range',
        name: 'ramp',
        from: { kind: 'ago', amount: 90, unit: 's' },
        to: { kind: 'now' },
        points: undefined,
      },
      'RANGE ramp -90s now\n',
    ],
    [
      { kind: 'range', name: 'ramp', from: { kind: 'at', ms: 1 }, to: { kind: 'at', ms: 2.5 }, points: 10 },
      'RANGE ramp 1 2.5 10\n',
    ],
    [{ kind: 'after', name: 'ramp', seq: 42 }, 'AFTER ramp 42\n'],
  ])('encodes %j as %j', (cmd, text) => {
    expect(encodeCommand(cmd)).toBe(text);
  });

  it('refuses invalid commands and arguments the server would reject', () => {
    expect(() => encodeCommand({ kind: 'invalid', code: 'bad-args', detail: '' })).toThrow(TypeError);
    expect(() => encodeCommand({ kind: 'get', name: 'bad name' })).toThrow(RangeError);
    expect(() => encodeCommand({ kind: 'sub', pattern: 'a?', backlog: undefined })).toThrow(RangeError);
    expect(() => encodeCommand({ kind: 'hist', name: 'ramp', count: 0 })).toThrow(RangeError);
    expect(() => encodeCommand({ kind: 'sub', pattern: '*', backlog: -1 })).toThrow(RangeError);
    const now: TimeArg = { kind: 'now' };
    expect(() => encodeCommand({ kind: 'range', name: 'ramp', from: now, to: now, points: 0 })).toThrow(RangeError);
    expect(() => encodeCommand({ kind: 'range', name: 'ramp', from: now, to: now, points: 100_001 })).toThrow(
      RangeError,
    );
    expect(() =>
      encodeCommand({ kind: 'range', name: 'ramp', from: { kind: 'at', ms: -1 }, to: now, points: undefined }),
    ).toThrow(RangeError);
    expect(() => encodeCommand({ kind: 'after', name: 'ramp', seq: -1 })).toThrow(RangeError);
    expect(() => encodeCommand({ kind: 'after', name: 'ramp', seq: 1.5 })).toThrow(RangeError);
  });

  it('gives no new verb a first letter that the legacy n poll would take', () => {
    // docs/PROTOCOL.md, "Legacy poll": a command line starting with n or N would be read as a poll.
    const verbs = ['PING', 'GET', 'LIST', 'HIST', 'SUB', 'UNSUB', 'STATS', 'QUIT', 'RANGE', 'AFTER'];
    for (const verb of verbs) expect(verb[0]?.toLowerCase()).not.toBe('n');
    expect(decode('RANGE ramp -1m now\nAFTER ramp 1\n').map((c) => c.kind)).toEqual(['range', 'after']);
  });
});
