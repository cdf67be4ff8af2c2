import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IngestCollector } from './collector.js';
import type { RejectReason } from './errors.js';
import { NameCache, parseDatagram } from './ingest.js';
import { parseInfluxLines, parseInfluxTimestamp, type InfluxPrecision } from './influx.js';
import { isValidName } from './names.js';
import { bytes, streamBytes } from './testing/bytes.js';
import { referenceName } from './testing/names.js';
import type { IngestReading } from './types.js';

const reading = (name: string, value: number, timestampMs?: number): IngestReading => ({
  name,
  value,
  timestampMs,
  senderSeq: undefined,
});

function parse(text: string | Uint8Array, precision?: InfluxPrecision, maxLineBytes?: number): IngestCollector {
  const sink = new IngestCollector();
  parseInfluxLines(typeof text === 'string' ? bytes(text) : text, sink, {
    ...(precision && { precision }),
    ...(maxLineBytes && { maxLineBytes }),
  });
  return sink;
}

const T = 1764316800; // 2025-11-28T08:00:00Z, in seconds

describe('parseInfluxLines: readings (the package README, "InfluxDB line protocol")', () => {
  it.each<[string, string, IngestReading[]]>([
    ['a measurement and one field', 'cpu usage=0.5', [reading('cpu/usage', 0.5)]],
    [
      'tag values in the order of the line, tag keys left out',
      'weather,site=roof,sensor=a temp=21.5',
      [reading('weather/roof/a/temp', 21.5)],
    ],
    [
      'one reading per numeric field, in order',
      'cpu,host=h usage_idle=97.5,usage_user=1.25,usage_system=1.25',
      [reading('cpu/h/usage_idle', 97.5), reading('cpu/h/usage_user', 1.25), reading('cpu/h/usage_system', 1.25)],
    ],
    ['a nanosecond timestamp, in ms', `cpu v=1 ${T}000000000`, [reading('cpu/v', 1, T * 1000)]],
    [
      'sub-millisecond nanoseconds as an exact fraction',
      `cpu v=1 ${T}123456789`,
      [reading('cpu/v', 1, Number(`${T}123.456789`))],
    ],
    ['a timestamp of 0', 'cpu v=1 0', [reading('cpu/v', 1, 0)]],
    ['leading zeros in a timestamp', 'cpu v=1 000123000000', [reading('cpu/v', 1, 123)]],
    ['an integer field', 'mem used=16777216000i', [reading('mem/used', 16777216000)]],
    ['a negative integer field', 'm v=-42i', [reading('m/v', -42)]],
    ['-0i as 0', 'm v=-0i', [reading('m/v', 0)]],
    ['the largest int64, rounded to the nearest float64', 'm v=9223372036854775807i', [reading('m/v', 2 ** 63)]],
    ['the smallest int64', 'm v=-9223372036854775808i', [reading('m/v', -(2 ** 63))]],
    ['an unsigned field', 'm v=42u', [reading('m/v', 42)]],
    ['the largest uint64', 'm v=18446744073709551615u', [reading('m/v', 2 ** 64)]],
    ['an integer past 2^53, rounded as a float is', 'm v=9007199254740993i', [reading('m/v', 9007199254740992)]],
    [
      'floats written every way',
      'm a=1,b=-1.5,c=1e3,d=2.5E-3,e=.5,f=1.',
      [
        reading('m/a', 1),
        reading('m/b', -1.5),
        reading('m/c', 1000),
        reading('m/d', 0.0025),
        reading('m/e', 0.5),
        reading('m/f', 1),
      ],
    ],
    ['runs of blanks between sections, and around the line', '  cpu   v=1   0  ', [reading('cpu/v', 1, 0)]],
    ['CRLF line ends', 'cpu v=1\r\ncpu v=2\r\n', [reading('cpu/v', 1), reading('cpu/v', 2)]],
    ['an escaped space and comma in the measurement', 'my\\ cpu\\,x v=1', [reading('my_cpu_x/v', 1)]],
    [
      'escapes in tag keys, tag values and field keys, but not \\= in a measurement',
      't\\=k,a\\ b=c\\,d\\=e f\\ g\\=h=1',
      [reading('t__k/c_d_e/f_g_h', 1)],
    ],
    ['a backslash before an ordinary byte, kept (and mapped)', 'a\\b,t=x\\y v\\z=1', [reading('a_b/x_y/v_z', 1)]],
    ['a backslash before an escaped blank', 'a\\\\ b v=1', [reading('a__b/v', 1)]],
    ['an unescaped = in a measurement', 'a=b v=1', [reading('a_b/v', 1)]],
    ['quotes in names are ordinary characters', '"m",t="x" "f"=1', [reading('_m_/_x_/_f_', 1)]],
    ['/ kept as it is, so path=/ adds an empty-looking segment', 'disk,path=/ free=1i', [reading('disk///free', 1)]],
    ['one _ per non-ASCII character', 'température,lieu=salon° v=1', [reading('temp_rature/salon_/v', 1)]],
    ['an emoji as one _', 'm,t=🍭 v=1', [reading('m/_/v', 1)]],
    ['a 128-byte name', `${'m'.repeat(126)} v=1`, [reading(`${'m'.repeat(126)}/v`, 1)]],
    ['__proto__ as an ordinary name', '__proto__ __proto__=1', [reading('__proto__/__proto__', 1)]],
    ['a duplicate field twice', 'm v=1,v=2', [reading('m/v', 1), reading('m/v', 2)]],
  ])('reads %s', (_label, input, readings) => {
    const sink = parse(input);
    expect(sink.rejects).toEqual([]);
    expect(sink.readings).toEqual(readings);
  });

  it.each<[InfluxPrecision, string, number]>([
    ['ns', `${T}000000001`, T * 1000 + 0.000001],
    ['us', `${T}000001`, T * 1000 + 0.001],
    ['ms', `${T}001`, T * 1000 + 1],
    ['s', `${T}`, T * 1000],
  ])('reads timestamps in %s', (precision, ts, ms) => {
    expect(parse(`cpu v=1 ${ts}`, precision).readings).toEqual([reading('cpu/v', 1, ms)]);
  });

  it('reads what Telegraf, rtl_433 and Grafana Live send', () => {
    const body = [
      `cpu,cpu=cpu-total,host=nas usage_idle=97.48,usage_user=1.51,usage_system=1.01 ${T}000000000`,
      `mem,host=nas active=1234567i,available_percent=55.5,total=16777216000i ${T}000000000`,
      `disk,device=sda1,fstype=ext4,host=nas,mode=rw,path=/boot free=1073741824i,used_percent=12.5 ${T}000000000`,
      `system,host=nas load1=0.5,n_cpus=8i,uptime_format="1 day,  2:03" ${T}000000000`,
      `Acurite-Tower,id=1234,channel=A battery_ok=1i,temperature_C=21.5,humidity=40i,mic="CHECKSUM" ${T}000000000`,
      'grafana_live,source=browser value=0.25',
    ].join('\n');
    const sink = parse(body);
    expect(sink.rejects).toEqual([]);
    expect(sink.readings.map((r) => [r.name, r.value])).toEqual([
      ['cpu/cpu-total/nas/usage_idle', 97.48],
      ['cpu/cpu-total/nas/usage_user', 1.51],
      ['cpu/cpu-total/nas/usage_system', 1.01],
      ['mem/nas/active', 1234567],
      ['mem/nas/available_percent', 55.5],
      ['mem/nas/total', 16777216000],
      ['disk/sda1/ext4/nas/rw//boot/free', 1073741824],
      ['disk/sda1/ext4/nas/rw//boot/used_percent', 12.5],
      ['system/nas/load1', 0.5],
      ['system/nas/n_cpus', 8],
      ['Acurite-Tower/1234/A/battery_ok', 1],
      ['Acurite-Tower/1234/A/temperature_C', 21.5],
      ['Acurite-Tower/1234/A/humidity', 40],
      ['grafana_live/browser/value', 0.25],
    ]);
    expect(sink.ignoredCount).toBe(2);
  });

  it('skips comments and blank lines', () => {
    const sink = parse('# a comment\n\n   \n  # indented comment v=1\ncpu v=1\n#\n');
    expect(sink).toMatchObject({ readings: [reading('cpu/v', 1)], rejects: [], ignoredCount: 0 });
  });

  it('counts strings and booleans through sink.ignored, once per line with its view', () => {
    const calls: [number, string][] = [];
    const input = bytes('m s="a \\"quoted\\" \\\\ string",b=true,v=1,c=F\r\nm v=2\n');
    parseInfluxLines(input, {
      reading: () => undefined,
      reject: () => expect.unreachable(),
      ignored: (count, line) => calls.push([count, new TextDecoder().decode(line)]),
    });
    expect(calls).toEqual([[3, 'm s="a \\"quoted\\" \\\\ string",b=true,v=1,c=F']]);
  });

  it('reads every boolean spelling InfluxDB accepts', () => {
    const sink = parse('m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE,v=1');
    expect(sink.readings).toEqual([reading('m/v', 1)]);
    expect(sink.ignoredCount).toBe(10);
  });

  it('returns equal name strings from a NameCache, across calls', () => {
    const nameCache = new NameCache();
    const names: string[] = [];
    const sink = { reading: (name: string) => names.push(name), reject: () => undefined };
    parseInfluxLines(bytes('cpu,host=a v=1'), sink, { nameCache });
    parseInfluxLines(bytes('cpu,host=a v=2'), sink, { nameCache });
    expect(names).toEqual(['cpu/a/v', 'cpu/a/v']);
    expect(Object.is(names[0], names[1])).toBe(true);
  });

  it('delivers the readings of a line only after the whole line has proved good', () => {
    const sink = parse(`m a=1,b=2,c=3 ${'9'.repeat(30)}\nm a=1,b=x\nm a=1,b="s"c`);
    expect(sink.readings).toEqual([]);
    expect(sink.rejects.map((r) => r.reason)).toEqual(['bad-timestamp', 'bad-number', 'bad-syntax']);
  });

  it('lets a sink parse again from inside its callback', () => {
    const outer: string[] = [];
    const inner = new IngestCollector();
    parseInfluxLines(bytes('a x=1,y=2,z=3'), {
      reading(name) {
        outer.push(name);
        parseInfluxLines(bytes('b p=1,q=2'), inner);
      },
      reject: () => expect.unreachable(),
    });
    expect(outer).toEqual(['a/x', 'a/y', 'a/z']);
    expect(inner.readings.map((r) => r.name)).toEqual(['b/p', 'b/q', 'b/p', 'b/q', 'b/p', 'b/q']);
  });
});

describe('parseInfluxLines: rejects', () => {
  it.each<[string, string, RejectReason]>([
    ['a line without a field set', 'cpu', 'bad-syntax'],
    ['a line of tags without fields', 'cpu,host=a', 'bad-syntax'],
    ['a native line', 'ramp 0.35 1764316800', 'bad-syntax'],
    ['an empty measurement', ',t=a v=1', 'bad-syntax'],
    ['a tag without =', 'cpu,host v=1', 'bad-syntax'],
    ['an empty tag key', 'cpu,=a v=1', 'bad-syntax'],
    ['an empty tag value', 'cpu,host= v=1', 'bad-syntax'],
    ['an = in a tag value', 'cpu,host=a=b v=1', 'bad-syntax'],
    ['a trailing comma after the tags', 'cpu,host=a, v=1', 'bad-syntax'],
    ['a field without =', 'cpu v', 'bad-syntax'],
    ['an empty field key', 'cpu =1', 'bad-syntax'],
    ['an empty field value', 'cpu v=', 'bad-syntax'],
    ['an empty field value before a comma', 'cpu v=,w=1', 'bad-syntax'],
    ['a trailing comma after the fields', 'cpu v=1,', 'bad-syntax'],
    ['a blank after a comma in the fields', 'cpu v=1, w=2', 'bad-syntax'],
    ['an unterminated string', 'cpu s="abc', 'bad-syntax'],
    ['a string whose closing quote is escaped', 'cpu s="abc\\"', 'bad-syntax'],
    ['bytes glued to a string', 'cpu s="a"b', 'bad-syntax'],
    ['a boolean spelled wrong', 'cpu b=tru', 'bad-syntax'],
    ['text after the timestamp', 'cpu v=1 0 extra', 'bad-syntax'],
    ['nan', 'cpu v=nan', 'bad-number'],
    ['inf', 'cpu v=inf', 'bad-number'],
    ['-inf', 'cpu v=-inf', 'bad-number'],
    ['a float too large for float64', 'cpu v=1e400', 'bad-number'],
    ['hexadecimal', 'cpu v=0x10', 'bad-number'],
    ['a unit after a number', 'cpu v=12ms', 'bad-number'],
    ['a fractional integer', 'cpu v=1.5i', 'bad-number'],
    ['an integer with an exponent', 'cpu v=1e3i', 'bad-number'],
    ['an integer one past int64', 'cpu v=9223372036854775808i', 'bad-number'],
    ['an integer one below int64', 'cpu v=-9223372036854775809i', 'bad-number'],
    ['a very long integer', `cpu v=${'9'.repeat(40)}i`, 'bad-number'],
    ['a negative unsigned integer', 'cpu v=-1u', 'bad-number'],
    ['an unsigned integer one past uint64', 'cpu v=18446744073709551616u', 'bad-number'],
    ['a signed integer with a plus', 'cpu v=+1i', 'bad-number'],
    ['a bare i', 'cpu v=i', 'bad-number'],
    ['a name over 128 bytes', `${'m'.repeat(127)} v=1`, 'bad-name'],
    ['a name over 128 bytes from its tags', `m,a=${'x'.repeat(60)},b=${'y'.repeat(60)} value=1`, 'bad-name'],
    ['a negative timestamp', 'cpu v=1 -1', 'bad-timestamp'],
    ['a timestamp that is not digits', 'cpu v=1 now', 'bad-timestamp'],
    ['a fractional timestamp', 'cpu v=1 1.5', 'bad-timestamp'],
    ['a timestamp of 1e14 ms in ns', 'cpu v=1 100000000000000000000', 'bad-timestamp'],
    ['only strings and booleans', 'system,host=h uptime_format="1 day",ok=true', 'unsupported-type'],
  ])('refuses %s', (_label, input, reason) => {
    const sink = parse(input);
    expect(sink.readings).toEqual([]);
    expect(sink.rejects).toEqual([{ reason, line: input }]);
  });

  it('refuses a line over maxLineBytes, counting every byte before the LF, and goes on', () => {
    const sink = parse('m v=1\nm v=12\r\nm v=3', undefined, 5);
    expect(sink.readings).toEqual([reading('m/v', 1), reading('m/v', 3)]);
    expect(sink.rejects).toEqual([{ reason: 'line-too-long', line: 'm v=12' }]);
  });

  it('has a default line limit of 64 KiB', () => {
    const long = `m ${Array.from({ length: 9000 }, (_, k) => `f${k}=1`).join(',')}`;
    expect(long.length).toBeGreaterThan(65536);
    expect(parse(long).rejects.map((r) => r.reason)).toEqual(['line-too-long']);
    expect(parse(long.slice(0, 60000).replace(/,[^,]*$/, '')).rejects).toEqual([]);
  });

  it('validates its options', () => {
    const sink = new IngestCollector();
    expect(() => parseInfluxLines(bytes(''), sink, { precision: 'h' as InfluxPrecision })).toThrow(RangeError);
    expect(() => parseInfluxLines(bytes(''), sink, { precision: 1 as unknown as InfluxPrecision })).toThrow(TypeError);
    expect(() => parseInfluxLines(bytes(''), sink, { maxLineBytes: 0 })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------
// Properties

/** Text with the characters line protocol escapes, non-ASCII and emoji, but no LF or CR. */
const elementText = (minLength: number) =>
  fc
    .string({
      unit: fc.oneof(
        fc.constantFrom(...'abcXYZ019_.-/ ,=\\"#\t'),
        fc.constantFrom('é', '°', '🍭', 'ñ'),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
      ),
      minLength,
      maxLength: 12,
    })
    .filter((s) => !s.includes('\n') && !s.includes('\r') && !s.endsWith('\\'));

const escape = (text: string, chars: string): string =>
  Array.from(text, (ch) => (chars.includes(ch) ? `\\${ch}` : ch)).join('');

type FieldValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: bigint }
  | { kind: 'uint'; value: bigint }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: string };

const fieldValueArb: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => ({ kind: 'float' as const, value })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => ({ kind: 'int' as const, value })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value) => ({ kind: 'uint' as const, value })),
  fc
    .string({ maxLength: 10 })
    .filter((s) => !s.includes('\n'))
    .map((value) => ({ kind: 'string' as const, value })),
  fc.constantFrom('t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE').map((value) => ({
    kind: 'bool' as const,
    value,
  })),
);

const writeValue = (v: FieldValue): string => {
  switch (v.kind) {
    case 'float':
      return String(v.value);
    case 'int':
      return `${v.value}i`;
    case 'uint':
      return `${v.value}u`;
    case 'string':
      return `"${v.value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    case 'bool':
      return v.value;
  }
};

const lineArb = fc.record({
  measurement: elementText(1).filter((s) => !s.startsWith('#')),
  tags: fc.array(fc.tuple(elementText(1), elementText(1)), { maxLength: 3 }),
  fields: fc.array(fc.tuple(elementText(1), fieldValueArb), { minLength: 1, maxLength: 4 }),
  timestamp: fc.option(fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }), { nil: undefined }),
});

type Line = typeof lineArb extends fc.Arbitrary<infer L> ? L : never;

const writeLine = (l: Line): string =>
  escape(l.measurement, ', \t') +
  l.tags.map(([k, v]) => `,${escape(k, ',= \t')}=${escape(v, ',= \t')}`).join('') +
  ' ' +
  l.fields.map(([k, v]) => `${escape(k, ',= \t')}=${writeValue(v)}`).join(',') +
  (l.timestamp === undefined ? '' : ` ${l.timestamp}`);

/** What the line should give, worked out with strings, BigInt and Number(). */
function expected(l: Line): { readings: IngestReading[]; reason: RejectReason | undefined; ignored: number } {
  const prefix = [l.measurement, ...l.tags.map(([, v]) => v)].map(referenceName).join('/');
  const timestampMs = l.timestamp === undefined ? undefined : Number(`${l.timestamp}e-6`);
  const readings: IngestReading[] = [];
  let ignored = 0;
  for (const [key, v] of l.fields) {
    if (v.kind === 'string' || v.kind === 'bool') {
      ignored++;
      continue;
    }
    const name = `${prefix}/${referenceName(key)}`;
    if (name.length > 128) return { readings: [], reason: 'bad-name', ignored: 0 };
    const value = v.kind === 'float' ? Number(String(v.value)) : Number(v.value);
    readings.push(reading(name, value, timestampMs));
  }
  if (timestampMs !== undefined && timestampMs >= 1e14) return { readings: [], reason: 'bad-timestamp', ignored: 0 };
  if (readings.length === 0) return { readings: [], reason: 'unsupported-type', ignored: 0 };
  return { readings, reason: undefined, ignored };
}

describe('parseInfluxLines: properties', () => {
  it('reads back any line written by the rules, names, values and timestamps exact', () => {
    fc.assert(
      fc.property(lineArb, (l) => {
        const line = writeLine(l);
        const want = expected(l);
        const sink = parse(line);
        expect(sink.readings).toEqual(want.readings);
        expect(sink.rejects).toEqual(want.reason === undefined ? [] : [{ reason: want.reason, line }]);
        expect(sink.ignoredCount).toBe(want.ignored);
      }),
      { numRuns: 1500 },
    );
  });

  it('reads a line in a datagram exactly as parseInfluxLines does, tags or none', () => {
    fc.assert(
      fc.property(lineArb, (l) => {
        const line = bytes(writeLine(l));
        const inDatagram = new IngestCollector();
        parseDatagram(line, inDatagram, { maxLineBytes: 65536 });
        expect(inDatagram).toEqual(parse(line));
      }),
      { numRuns: 1000 },
    );
  });

  it('turns timestamps of every precision into the float64 nearest the exact milliseconds', () => {
    const shifts: Record<InfluxPrecision, number> = { ns: -6, us: -3, ms: 0, s: 3 };
    fc.assert(
      fc.property(
        fc.constantFrom<InfluxPrecision>('ns', 'us', 'ms', 's'),
        fc.bigInt({ min: 0n, max: 10n ** 21n }),
        fc.nat({ max: 3 }),
        (precision, ts, zeros) => {
          const text = '0'.repeat(zeros) + String(ts);
          const exact = Number(`${ts}e${shifts[precision]}`);
          const ms = parseInfluxTimestamp(bytes(text), 0, text.length, shifts[precision]);
          expect(ms).toBe(exact < 1e14 ? exact : -1);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('never throws, and delivers only well-formed readings, whatever the bytes', () => {
    const influxish = fc
      .array(
        fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...bytes('\n\r \t,=\\"#tTfFiu.-+e0123456789abc'))),
        { maxLength: 300 },
      )
      .map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(fc.oneof(influxish, streamBytes), fc.integer({ min: 1, max: 80 }), (input, maxLineBytes) => {
        let lines = 1;
        for (const b of input) if (b === 0x0a) lines++;
        let rejects = 0;
        parseInfluxLines(
          input,
          {
            reading(name, value, timestampMs, senderSeq) {
              expect(isValidName(name)).toBe(true);
              expect(Number.isFinite(value)).toBe(true);
              expect(Number.isNaN(timestampMs) || (timestampMs >= 0 && timestampMs < 1e14)).toBe(true);
              expect(senderSeq).toBe(-1);
            },
            reject(_reason, line) {
              rejects++;
              expect(line.includes(0x0a)).toBe(false);
            },
          },
          { maxLineBytes },
        );
        expect(rejects).toBeLessThanOrEqual(lines);
      }),
      { numRuns: 3000 },
    );
  });

  it('takes each line whole or refuses it whole', () => {
    const mutated = fc
      .tuple(lineArb, fc.nat(), fc.constantFrom(' ', ',', '=', '"', '\\', 'x', '', '1', 'i'))
      .map(([l, at, ch]) => {
        const line = writeLine(l);
        const k = at % (line.length + 1);
        return line.slice(0, k) + ch + line.slice(k + 1);
      });
    fc.assert(
      fc.property(mutated, (line) => {
        const sink = parse(line);
        expect(sink.readings.length === 0 || sink.rejects.length === 0).toBe(true);
        expect(sink.rejects.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 1000 },
    );
  });

  it('parses a body as the concatenation of its lines parsed one by one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(lineArb.map(writeLine), fc.string({ maxLength: 20 })), { maxLength: 6 }),
        (lines) => {
          const whole = parse(lines.join('\n'));
          const parts = lines.map((line) => parse(line));
          expect(whole.readings).toEqual(parts.flatMap((p) => p.readings));
          expect(whole.rejects).toEqual(parts.flatMap((p) => p.rejects));
          expect(whole.ignoredCount).toBe(parts.reduce((sum, p) => sum + p.ignoredCount, 0));
        },
      ),
      { numRuns: 500 },
    );
  });
});
