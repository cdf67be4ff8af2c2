import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RejectReason } from './errors.js';
import {
  encodeLegacy,
  encodeNative,
  encodeStatsdGauge,
  NameCache,
  parseDatagram,
  parseDatagramToArray,
  type DatagramSink,
} from './ingest.js';
import { isValidName } from './names.js';
import { bytes, finiteArb, nameArb, streamBytes } from './testing/bytes.js';
import type { IngestReading } from './types.js';

const reading = (
  name: string,
  value: number,
  timestampMs: number | undefined = undefined,
  senderSeq: number | undefined = undefined,
): IngestReading => ({ name, value, timestampMs, senderSeq });
const legacy = (value: number): IngestReading => reading('default', value);

const parse = (input: string | Uint8Array, maxLineBytes?: number) =>
  parseDatagramToArray(
    typeof input === 'string' ? bytes(input) : input,
    maxLineBytes === undefined ? {} : { maxLineBytes },
  );

describe('parseDatagram: accepted forms (PROTOCOL.md "UDP ingest")', () => {
  it.each<[string, string, IngestReading[]]>([
    ['a legacy bare number without newline, as the Medidor sends it', '0.35', [legacy(0.35)]],
    ['a legacy number with a newline', '0.35\n', [legacy(0.35)]],
    ['a legacy number with CRLF', '0.35\r\n', [legacy(0.35)]],
    ['Python str(float) small values', '1e-05', [legacy(1e-5)]],
    ['Python str(float) zero', '0.0', [legacy(0)]],
    ['a negative legacy number', '-0.5', [legacy(-0.5)]],
    ['a legacy number with a plus sign', '+0.5', [legacy(0.5)]],
    ['a legacy number with an exponent', '2.5E3', [legacy(2500)]],
    ['a legacy number surrounded by blanks', ' \t0.35 \t', [legacy(0.35)]],
    ['empty and blank lines around a reading', '\n\n \t\n\r\n0.35\n\n', [legacy(0.35)]],
    ['native name and value', 'ramp 0.35', [reading('ramp', 0.35)]],
    [
      'native fields separated by runs of blanks',
      '  ramp \t 0.35\t\t1764316800  ',
      [reading('ramp', 0.35, 1764316800000)],
    ],
    ['a native integer timestamp in seconds', 'ramp 0.35 1764316800', [reading('ramp', 0.35, 1764316800000)]],
    ['a fractional timestamp, exact in ms', 'ramp 0.35 1764316800.125 42', [reading('ramp', 0.35, 1764316800125, 42)]],
    ['a fractional timestamp with one decimal', 'ramp 1 1764316800.1', [reading('ramp', 1, 1764316800100)]],
    [
      'a sub-ms timestamp that seconds × 1000 would misround',
      'ramp 1 1764316800.0001',
      [reading('ramp', 1, 1764316800000.1)],
    ],
    ['a timestamp finer than a millisecond', 'ramp 1 1764316800.1234', [reading('ramp', 1, 1764316800123.4)]],
    ['a timestamp with an exponent', 'ramp 1 1.7643168e9', [reading('ramp', 1, 1764316800000)]],
    ['timestamp -1 meaning now', 'ramp 0.35 -1', [reading('ramp', 0.35)]],
    ['timestamp -1 with a sender seq', 'ramp 0.35 -1 7', [reading('ramp', 0.35, undefined, 7)]],
    ['timestamp 0', 'ramp 0.35 0', [reading('ramp', 0.35, 0)]],
    ['the largest timestamp below 1e11 s', 'ramp 1 99999999999.999', [reading('ramp', 1, 99999999999999)]],
    ['sender seq 0', 'ramp 1 1 0', [reading('ramp', 1, 1000, 0)]],
    ['sender seq MAX_SAFE_INTEGER', 'ramp 1 1 9007199254740991', [reading('ramp', 1, 1000, 9007199254740991)]],
    ['a native value with sign and exponent', 'ramp -1.5e-3', [reading('ramp', -0.0015)]],
    ['__proto__ as an ordinary name', '__proto__ 1', [reading('__proto__', 1)]],
    ['constructor as an ordinary name', 'constructor 2', [reading('constructor', 2)]],
    ['a 128-byte name', `${'n'.repeat(128)} 1`, [reading('n'.repeat(128), 1)]],
    ['a name with every kind of name character', 'Plant_1/boiler.temp-2 3', [reading('Plant_1/boiler.temp-2', 3)]],
    ['a StatsD gauge', 'ramp:0.35|g', [reading('ramp', 0.35)]],
    ['a negative StatsD gauge, an absolute value', 'ramp:-0.35|g', [reading('ramp', -0.35)]],
    ['a StatsD gauge with a plus sign', 'ramp:+2|g', [reading('ramp', 2)]],
    ['a StatsD gauge with sample rate and tags ignored', 'ramp:0.35|g|@0.5|#tag:x', [reading('ramp', 0.35)]],
    ['a StatsD gauge with tags first and a container id', 'ramp:1|g|#a:b,c:d|@0.1|c:abc123', [reading('ramp', 1)]],
    ['a DogStatsD |T timestamp in seconds', 'ramp:1|g|T1764316800', [reading('ramp', 1, 1764316800000)]],
    ['a StatsD gauge with CRLF and blanks', ' ramp:1|g \r\n', [reading('ramp', 1)]],
    [
      'one reading per line, forms mixed',
      '0.5\nramp 1 -1 3\r\nsaw:2|g\n',
      [legacy(0.5), reading('ramp', 1, undefined, 3), reading('saw', 2)],
    ],
    ['a line of exactly maxLineBytes', `${'0'.repeat(1023)}1`, [legacy(1)]],
  ])('accepts %s', (_label, input, readings) => {
    expect(parse(input)).toEqual({ readings, rejects: [] });
  });
});

describe('parseDatagram: rejects (PROTOCOL.md "UDP ingest")', () => {
  it.each<[string, string | Uint8Array, RejectReason]>([
    ['1e400 (not finite)', '1e400', 'bad-number'],
    ['NaN', 'NaN', 'bad-number'],
    ['nan, as Python prints it', 'nan', 'bad-number'],
    ['inf', 'inf', 'bad-number'],
    ['a double sign', '--1', 'bad-number'],
    ['hexadecimal', '0x10', 'bad-number'],
    ['digit separators', '1_000', 'bad-number'],
    ['a comma decimal', '0,35', 'bad-number'],
    ['a bare word', 'hello', 'bad-number'],
    ['a CR inside the number', '0.3\r5', 'bad-number'],
    ['a NUL byte after a number', '0.35\u0000', 'bad-number'],
    ['a lone NUL byte', '\u0000', 'bad-number'],
    ['invalid UTF-8', Uint8Array.of(0xff, 0xfe, 0x31), 'bad-number'],
    ['a native non-finite value', 'ramp 1e400', 'bad-number'],
    ['a native nan value', 'ramp nan', 'bad-number'],
    ['a native value with a unit', 'ramp 12ms', 'bad-number'],
    ['a name over 128 bytes', `${'n'.repeat(129)} 1`, 'bad-name'],
    ['a name with a bad character', 'ramp$ 1', 'bad-name'],
    ['a name with a non-ASCII letter', 'ñandú 1', 'bad-name'],
    ['a name with invalid UTF-8', Uint8Array.of(0x72, 0xc3, 0x28, 0x20, 0x31), 'bad-name'],
    ['a name with a NUL byte', 'ra\u0000mp 1', 'bad-name'],
    ['a timestamp in ms by mistake', 'ramp 0.35 1764316800125', 'bad-timestamp'],
    ['a timestamp of 1e11 s', 'ramp 1 100000000000', 'bad-timestamp'],
    ['a negative timestamp other than -1', 'ramp 1 -2', 'bad-timestamp'],
    ['a timestamp of -0.5', 'ramp 1 -0.5', 'bad-timestamp'],
    ['a timestamp that is not a number', 'ramp 1 now', 'bad-timestamp'],
    ['an infinite timestamp', 'ramp 1 1e400', 'bad-timestamp'],
    ['a sender seq over MAX_SAFE_INTEGER', 'ramp 1 1 9007199254740992', 'bad-sequence'],
    ['a very long sender seq', `ramp 1 1 ${'9'.repeat(40)}`, 'bad-sequence'],
    ['a negative sender seq', 'ramp 1 1 -1', 'bad-sequence'],
    ['a signed sender seq', 'ramp 1 1 +1', 'bad-sequence'],
    ['a fractional sender seq', 'ramp 1 1 1.5', 'bad-sequence'],
    ['a sender seq with an exponent', 'ramp 1 1 1e3', 'bad-sequence'],
    ['5 fields', 'ramp 1 1764316800 1 extra', 'bad-syntax'],
    ['many fields', 'a b c d e f g h', 'bad-syntax'],
    ['a StatsD counter', 'hits:1|c', 'unsupported-type'],
    ['a StatsD timer', 'latency:320|ms', 'unsupported-type'],
    ['a StatsD set', 'users:alice|s', 'unsupported-type'],
    ['a StatsD histogram', 'size:1|h', 'unsupported-type'],
    ['a StatsD distribution', 'size:1|d', 'unsupported-type'],
    ['an upper-case gauge type', 'ramp:1|G', 'unsupported-type'],
    ['a StatsD counter with a sample rate', 'hits:1|c|@0.1', 'unsupported-type'],
    ['a StatsD line without a type', 'ramp:1', 'bad-syntax'],
    ['a StatsD line with an empty type', 'ramp:1|', 'bad-syntax'],
    ['a StatsD line with blanks inside', 'ramp:1|g extra', 'bad-syntax'],
    ['a native line with a colon', 'ramp 1 12:00', 'bad-syntax'],
    ['a StatsD line with an empty name', ':1|g', 'bad-name'],
    ['a StatsD line with a bad name', 'ra$mp:1|g', 'bad-name'],
    ['a StatsD line with a name over 128 bytes', `${'n'.repeat(129)}:1|g`, 'bad-name'],
    ['a StatsD gauge that is not a number', 'ramp:abc|g', 'bad-number'],
    ['a StatsD gauge with an empty value', 'ramp:|g', 'bad-number'],
    ['a StatsD multi-value gauge', 'ramp:1:2|g', 'bad-number'],
    ['a StatsD |T timestamp in ms', 'ramp:1|g|T1764316800125', 'bad-timestamp'],
    ['a StatsD |T timestamp that is not a number', 'ramp:1|g|Tnow', 'bad-timestamp'],
    ['a line over maxLineBytes', `${'0'.repeat(1024)}1`, 'line-too-long'],
  ])('rejects %s', (_label, input, reason) => {
    const result = parse(input);
    expect(result.readings).toEqual([]);
    expect(result.rejects.map((r) => r.reason)).toEqual([reason]);
  });

  it('reports the offending line without its CR and LF', () => {
    expect(parse('ok 1\r\nx:1|c\r\nok 2').rejects).toEqual([{ reason: 'unsupported-type', line: 'x:1|c' }]);
  });

  it('keeps the other lines of a datagram when one is bad', () => {
    const result = parse('a 1\nb 1e400\nc:2|g\nd:1|c\n3\n');
    expect(result.readings).toEqual([reading('a', 1), reading('c', 2), legacy(3)]);
    expect(result.rejects).toEqual([
      { reason: 'bad-number', line: 'b 1e400' },
      { reason: 'unsupported-type', line: 'd:1|c' },
    ]);
  });

  it('reports a too-long line once and goes on with the next line', () => {
    const long = 'x'.repeat(5000);
    expect(parse(`${long}\n0.5\n${long}`)).toEqual({
      readings: [legacy(0.5)],
      rejects: [
        { reason: 'line-too-long', line: long },
        { reason: 'line-too-long', line: long },
      ],
    });
  });

  it('applies maxLineBytes to every byte before the LF, a CR included', () => {
    expect(parse('ramp 0.125\nramp 0.1255\nramp 0.12\r\nramp 0.125\r\n', 10)).toEqual({
      readings: [reading('ramp', 0.125), reading('ramp', 0.12)],
      rejects: [
        { reason: 'line-too-long', line: 'ramp 0.1255' },
        { reason: 'line-too-long', line: 'ramp 0.125' },
      ],
    });
  });

  it('validates maxLineBytes', () => {
    expect(() => parse('1', 0)).toThrow(RangeError);
    expect(() => parse('1', 1.5)).toThrow(RangeError);
    expect(() => parse('1', '10' as unknown as number)).toThrow(TypeError);
  });
});

describe('parseDatagram: the sink', () => {
  it('passes NaN for "now" and -1 for no sender seq, without wrapping readings in objects', () => {
    const calls: unknown[][] = [];
    const sink: DatagramSink = {
      reading: (...args) => calls.push(args),
      reject: () => calls.push(['reject']),
    };
    parseDatagram(bytes('0.35\nramp 1 1764316800.5 9\nramp 2 -1'), sink);
    expect(calls).toEqual([
      ['default', 0.35, NaN, -1],
      ['ramp', 1, 1764316800500, 9],
      ['ramp', 2, NaN, -1],
    ]);
  });

  it('hands rejects a view into the datagram, not a copy', () => {
    const datagram = bytes('ok 1\nbad line x y z\n');
    const lines: Uint8Array[] = [];
    parseDatagram(datagram, { reading: () => undefined, reject: (_reason, line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.buffer).toBe(datagram.buffer);
    expect(lines[0]?.byteOffset).toBe(5);
    expect(lines[0]?.length).toBe('bad line x y z'.length);
  });

  it('returns equal name strings for repeated names and distinct ones for distinct names', () => {
    const { readings } = parse('ramp 1\nsaw 2\nramp 3\nramq 4\nsaw:5|g');
    expect(readings.map((r) => r.name)).toEqual(['ramp', 'saw', 'ramp', 'ramq', 'saw']);
  });
});

describe('parseDatagram: properties', () => {
  it('never throws and only delivers well-formed readings, whatever the bytes', () => {
    fc.assert(
      fc.property(streamBytes, fc.integer({ min: 1, max: 64 }), (datagram, maxLineBytes) => {
        let lines = 1;
        for (const b of datagram) if (b === 0x0a) lines++;
        let calls = 0;
        parseDatagram(
          datagram,
          {
            reading(name, value, timestampMs, senderSeq) {
              calls++;
              expect(isValidName(name)).toBe(true);
              expect(Number.isFinite(value)).toBe(true);
              expect(Number.isNaN(timestampMs) || (timestampMs >= 0 && timestampMs < 1e14)).toBe(true);
              expect(senderSeq === -1 || (Number.isSafeInteger(senderSeq) && senderSeq >= 0)).toBe(true);
            },
            reject(_reason, line) {
              calls++;
              expect(line.includes(0x0a)).toBe(false);
            },
          },
          { maxLineBytes },
        );
        expect(calls).toBeLessThanOrEqual(lines);
      }),
      { numRuns: 2000 },
    );
  });

  it('parses a datagram as the concatenation of its lines parsed one by one', () => {
    fc.assert(
      fc.property(streamBytes, (datagram) => {
        const whole = parse(datagram);
        const parts = { readings: [] as IngestReading[], rejects: [] as { reason: RejectReason; line: string }[] };
        let from = 0;
        for (let i = 0; i <= datagram.length; i++) {
          if (i === datagram.length || datagram[i] === 0x0a) {
            const one = parse(datagram.subarray(from, i));
            parts.readings.push(...one.readings);
            parts.rejects.push(...one.rejects);
            from = i + 1;
          }
        }
        expect(whole).toEqual(parts);
      }),
      { numRuns: 1000 },
    );
  });

  const timestampArb = fc.option(
    fc.oneof(
      fc.integer({ min: 0, max: 1e14 - 1 }),
      fc.double({ min: 0, max: 1e14, maxExcluded: true, noNaN: true }).map((v) => v + 0),
    ),
    { nil: undefined },
  );
  const seqArb = fc.option(fc.maxSafeNat(), { nil: undefined });
  const nativeArb = fc.record({ name: nameArb, value: finiteArb, timestampMs: timestampArb, senderSeq: seqArb });

  it('reads back what encodeNative wrote, timestamps exact to the bit', () => {
    fc.assert(
      fc.property(fc.array(nativeArb, { minLength: 1, maxLength: 8 }), (inputs) => {
        const datagram = bytes(inputs.map(encodeNative).join('\n'));
        expect(parse(datagram, 4096)).toEqual({ readings: inputs.map((r) => ({ ...r })), rejects: [] });
      }),
      { numRuns: 1000 },
    );
  });

  it('reads back what encodeStatsdGauge wrote', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(nameArb, finiteArb), { minLength: 1, maxLength: 8 }), (pairs) => {
        const datagram = bytes(pairs.map(([name, value]) => encodeStatsdGauge(name, value)).join('\n'));
        expect(parse(datagram).readings).toEqual(pairs.map(([name, value]) => reading(name, value)));
      }),
    );
  });

  it('reads back what encodeLegacy wrote, as sensor default', () => {
    fc.assert(
      fc.property(finiteArb, (value) => {
        expect(parse(encodeLegacy(value))).toEqual({ readings: [legacy(value)], rejects: [] });
      }),
    );
  });
});

describe('encoders', () => {
  it.each([
    [{ name: 'ramp', value: 0.35 }, 'ramp 0.35'],
    [{ name: 'ramp', value: 0.35, timestampMs: 1764316800125 }, 'ramp 0.35 1764316800.125'],
    [{ name: 'ramp', value: 0.35, timestampMs: 1764316800000, senderSeq: 42 }, 'ramp 0.35 1764316800 42'],
    [{ name: 'ramp', value: 0.35, senderSeq: 7 }, 'ramp 0.35 -1 7'],
    [{ name: 'ramp', value: -1, timestampMs: 5 }, 'ramp -1 0.005'],
    [{ name: 'ramp', value: 1e21, timestampMs: 1764316800123.4 }, 'ramp 1e+21 1764316800.1234'],
    [{ name: 'ramp', value: 1, timestampMs: 1e-7 }, 'ramp 1 1e-10'],
    [{ name: 'ramp', value: 1, timestampMs: 0 }, 'ramp 1 0'],
  ])('encodeNative(%j) is %j', (input, line) => {
    expect(encodeNative(input)).toBe(line);
  });

  it('encodes the legacy form as String(value) and a gauge as name:value|g', () => {
    expect(encodeLegacy(0.35)).toBe('0.35');
    expect(encodeLegacy(1e-5)).toBe('0.00001');
    expect(encodeStatsdGauge('ramp', -0.5)).toBe('ramp:-0.5|g');
  });

  it.each([
    () => encodeLegacy(NaN),
    () => encodeLegacy(Infinity),
    () => encodeStatsdGauge('bad name', 1),
    () => encodeStatsdGauge('ramp', -Infinity),
    () => encodeNative({ name: '', value: 1 }),
    () => encodeNative({ name: 'ramp', value: NaN }),
    () => encodeNative({ name: 'ramp', value: 1, timestampMs: -1 }),
    () => encodeNative({ name: 'ramp', value: 1, timestampMs: 1e14 }),
    () => encodeNative({ name: 'ramp', value: 1, senderSeq: -1 }),
    () => encodeNative({ name: 'ramp', value: 1, senderSeq: 1.5 }),
    () => encodeNative({ name: 'ramp', value: 1, senderSeq: 2 ** 53 }),
  ])('throws a RangeError for what the wire cannot carry (case %#)', (encode) => {
    expect(encode).toThrow(RangeError);
  });

  it('throws a TypeError for values of the wrong type', () => {
    expect(() => encodeLegacy('1' as unknown as number)).toThrow(TypeError);
    expect(() => encodeNative({ name: 1 as unknown as string, value: 1 })).toThrow(TypeError);
  });
});

describe('NameCache', () => {
  const names = (datagram: string, nameCache?: NameCache): string[] => {
    const out: string[] = [];
    parseDatagram(
      new TextEncoder().encode(datagram),
      { reading: (name) => out.push(name), reject: () => undefined },
      nameCache ? { nameCache } : {},
    );
    return out;
  };

  it('hands back the same string for a name seen in an earlier datagram', () => {
    const nameCache = new NameCache();
    const [first] = names('ramp 1', nameCache);
    const [second] = names('ramp 2', nameCache);
    expect(second).toBe('ramp');
    expect(Object.is(first, second)).toBe(true);
  });

  it('changes no result when names collide in its slots', () => {
    const nameCache = new NameCache(1); // one slot: every name evicts the previous one
    const datagram = 'a 1\nb 2\nramp:3|g\na 4\nlong/name.x-y_z 5';
    expect(names(datagram, nameCache)).toEqual(names(datagram));
    expect(names(datagram, nameCache)).toEqual(['a', 'b', 'ramp', 'a', 'long/name.x-y_z']);
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => new NameCache(0)).toThrow(RangeError);
    expect(() => new NameCache(1.5)).toThrow(/NameCache size/);
  });
});

describe('parseDatagram: InfluxDB line protocol, told apart line by line', () => {
  const NS = '1764316800000000000';

  it('reads a line of line protocol among lines of the other forms', () => {
    const datagram = `0.35\ncpu,host=a usage=0.5,n=3i ${NS}\nramp 1 1764316800\nsaw:2|g\nmem free=1u\n`;
    expect(parse(datagram)).toEqual({
      readings: [
        legacy(0.35),
        reading('cpu/a/usage', 0.5, 1764316800000),
        reading('cpu/a/n', 3, 1764316800000),
        reading('ramp', 1, 1764316800000),
        reading('saw', 2),
        reading('mem/free', 1),
      ],
      rejects: [],
    });
  });

  it.each<[string, string, RejectReason]>([
    ['key=value on its own (one field: legacy)', 'temp=21.5', 'bad-number'],
    ['a measurement with tags and no fields', 'cpu,host=a', 'bad-number'],
    ['key=value in the timestamp of a native line', 'ramp 1 ts=5', 'bad-timestamp'],
    ['key=value after a blank inside the name, escaped', 'ram\\ p=1', 'bad-name'],
    ['a second section that does not begin with key=', 'a b c=1', 'bad-number'],
    ['a comment line (not line protocol in a datagram)', '# x=1', 'bad-name'],
    ['a native line whose value is key=value with a comma first', 'ramp a,b=1', 'bad-number'],
  ])('leaves %s to the other forms', (_label, line, reason) => {
    expect(parse(line).rejects).toEqual([{ reason, line }]);
  });

  it.each<[string, string, RejectReason]>([
    ['a bad number in a field', 'cpu v=abc', 'bad-number'],
    ['a tag without a value', 'cpu,host v=1', 'bad-syntax'],
    ['a colon in a string field', 'log msg="at 12:00" 1', 'unsupported-type'],
  ])('refuses %s as line protocol', (_label, line, reason) => {
    expect(parse(line).rejects).toEqual([{ reason, line }]);
  });

  it('reads a timestamp in seconds sent where nanoseconds belong as a time in 1970, as InfluxDB would', () => {
    expect(parse('cpu v=1 1764316800')).toEqual({ readings: [reading('cpu/v', 1, 1764.3168)], rejects: [] });
  });

  it('reads timestamps in influxPrecision units', () => {
    const { readings } = parseDatagramToArray(bytes('cpu v=1 1764316800'), { influxPrecision: 's' });
    expect(readings).toEqual([reading('cpu/v', 1, 1764316800000)]);
  });

  it('refuses line protocol as before with influx: false', () => {
    expect(parseDatagramToArray(bytes('cpu,host=a v=1'), { influx: false }).rejects).toEqual([
      { reason: 'bad-name', line: 'cpu,host=a v=1' },
    ]);
  });

  it('reports ignored string and boolean fields to sink.ignored', () => {
    const ignored: [number, string][] = [];
    parseDatagram(bytes('ramp 1\nsys,host=h load=0.5,up="1 day",ok=true\n'), {
      reading: () => undefined,
      reject: () => expect.unreachable(),
      ignored: (count, line) => ignored.push([count, new TextDecoder().decode(line)]),
    });
    expect(ignored).toEqual([[2, 'sys,host=h load=0.5,up="1 day",ok=true']]);
  });

  it('applies maxLineBytes to line protocol too', () => {
    expect(parse('cpu value=1\ncpu value=12', 11)).toEqual({
      readings: [reading('cpu/value', 1)],
      rejects: [{ reason: 'line-too-long', line: 'cpu value=12' }],
    });
  });

  /** A line of one of the three older forms, valid or not quite. */
  const olderLineArb = fc.oneof(
    fc
      .record({
        name: nameArb,
        value: finiteArb,
        timestampMs: fc.option(fc.nat({ max: 1e14 - 1 }), { nil: undefined }),
        senderSeq: fc.option(fc.maxSafeNat(), { nil: undefined }),
      })
      .map(encodeNative),
    fc.tuple(nameArb, finiteArb).map(([name, value]) => encodeStatsdGauge(name, value)),
    fc
      .tuple(nameArb, finiteArb, fc.constantFrom('|@0.5', '|#a:b,c=d', '|T1764316800', '|c:x=y'))
      .map(([name, value, section]) => `${encodeStatsdGauge(name, value)}${section}`),
    finiteArb.map(encodeLegacy),
  );
  const anyLineArb = fc.oneof(
    olderLineArb,
    fc.string({ unit: fc.constantFrom(...'ab1 ,=\\"#:|.-\t'), maxLength: 30 }),
    // One line: a LF would make it two, each judged on its own.
    streamBytes.map((b) => new TextDecoder().decode(b)).filter((text) => !text.includes('\n')),
  );

  it('reads every valid line of the older forms exactly as with influx: false', () => {
    fc.assert(
      fc.property(fc.array(olderLineArb, { minLength: 1, maxLength: 6 }), (lines) => {
        const datagram = bytes(lines.join('\n'));
        const withInflux = parseDatagramToArray(datagram, { maxLineBytes: 4096 });
        expect(withInflux).toEqual(parseDatagramToArray(datagram, { maxLineBytes: 4096, influx: false }));
        expect(withInflux.rejects).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it('changes the outcome of a line only if it was refused before and has key= after its first blank', () => {
    fc.assert(
      fc.property(anyLineArb, (line) => {
        const data = bytes(line);
        const before = parseDatagramToArray(data, { influx: false });
        const after = parseDatagramToArray(data);
        if (JSON.stringify(after) === JSON.stringify(before)) return;
        expect(before.readings).toEqual([]);
        expect(before.rejects).toHaveLength(1);
        // A backslash escapes a blank or a comma (and, in a key, `=`); before anything else it is an ordinary byte.
        expect(line).toMatch(/^[ \t]*(?:[^ \t\\]|\\[ \t,]|\\)+[ \t]+(?:[^ \t\\,=]|\\[ \t,=]|\\)+=/);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseDatagram: Graphite paths with sanitizeNames', () => {
  const graphite = (datagram: string) => parseDatagramToArray(bytes(datagram), { sanitizeNames: true });

  it("reads collectd's write_graphite output as it is, CRLF and all", () => {
    const datagram =
      'nas_example_com.cpu-0.cpu-idle 98.5 1764316800\r\n' +
      'nas_example_com.df-root.percent_bytes-used 41.25 1764316800\r\n' +
      'nas_example_com.interface-eth0.if_octets.rx 18446744073709551615 1764316800\r\n';
    expect(graphite(datagram)).toEqual({
      readings: [
        reading('nas_example_com.cpu-0.cpu-idle', 98.5, 1764316800000),
        reading('nas_example_com.df-root.percent_bytes-used', 41.25, 1764316800000),
        reading('nas_example_com.interface-eth0.if_octets.rx', 2 ** 64, 1764316800000),
      ],
      rejects: [],
    });
    expect(parse(datagram).readings).toHaveLength(3); // no sanitizing needed
  });

  it("maps collectd 6's labels and Graphite tags to _ , and refuses a nan value", () => {
    expect(
      graphite(
        'test_with_label.alpha=first.beta=second 0 1592748157\r\n' +
          'disk.used;datacenter=dc1;rack=a1 42 1592748157\n' +
          'escaped_metric_name nan 1592748157\r\n',
      ),
    ).toEqual({
      readings: [
        reading('test_with_label.alpha_first.beta_second', 0, 1592748157000),
        reading('disk.used_datacenter_dc1_rack_a1', 42, 1592748157000),
      ],
      rejects: [{ reason: 'bad-number', line: 'escaped_metric_name nan 1592748157' }],
    });
  });

  it("reads Netdata's graphite exporter lines", () => {
    expect(
      graphite('netdata.nas.system.cpu.user 1.2500000 1764316800\nnetdata.nas.disk_space._.avail 12.5 1764316800\n'),
    ).toEqual({
      readings: [
        reading('netdata.nas.system.cpu.user', 1.25, 1764316800000),
        reading('netdata.nas.disk_space._.avail', 12.5, 1764316800000),
      ],
      rejects: [],
    });
  });

  it('maps one _ per character, and still refuses a name over 128 bytes', () => {
    expect(graphite('températ°re 1').readings).toEqual([reading('temp_rat_re', 1)]);
    expect(graphite(`${'é'.repeat(128)} 1`).readings).toEqual([reading('_'.repeat(128), 1)]);
    expect(graphite(`${'a'.repeat(129)} 1`).rejects).toEqual([{ reason: 'bad-name', line: `${'a'.repeat(129)} 1` }]);
  });

  it('refuses the same names without sanitizeNames', () => {
    expect(parse('disk.used;dc=1 42').rejects).toEqual([{ reason: 'bad-name', line: 'disk.used;dc=1 42' }]);
  });

  it('changes only lines that were refused as bad-name, and gives valid names', () => {
    const lineArb = fc.oneof(
      streamBytes.map((b) => new TextDecoder().decode(b)),
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 140 }), finiteArb, fc.constantFrom('', ' 1764316800', ' -1 7'))
        .map(([name, value, rest]) => `${name} ${value}${rest}`),
    );
    fc.assert(
      fc.property(lineArb, (text) => {
        const line = text.replaceAll('\n', ' '); // one line: each line stands alone anyway
        const plain = parse(line);
        const sanitized = graphite(line);
        for (const r of sanitized.readings) expect(isValidName(r.name)).toBe(true);
        if (JSON.stringify(plain) !== JSON.stringify(sanitized)) {
          expect(plain.readings).toEqual([]);
          expect(plain.rejects.map((r) => r.reason)).toEqual(['bad-name']);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
