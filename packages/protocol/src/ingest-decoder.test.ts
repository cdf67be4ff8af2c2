import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IngestCollector } from './collector.js';
import { parseDatagram } from './ingest.js';
import { IngestDecoder, type IngestDecoderOptions } from './ingest-decoder.js';
import { parseInfluxLines } from './influx.js';
import { bytes, cut, cutPoints, oneByteAtATime, streamBytes } from './testing/bytes.js';

function decode(chunks: readonly Uint8Array[], options?: IngestDecoderOptions): IngestCollector {
  const decoder = new IngestDecoder(options);
  const sink = new IngestCollector();
  for (const chunk of chunks) {
    decoder.push(chunk, sink);
    expect(decoder.pendingBytes).toBeLessThanOrEqual(options?.maxLineBytes ?? 1024);
  }
  decoder.end(sink);
  return sink;
}

function whole(data: Uint8Array, options?: IngestDecoderOptions): IngestCollector {
  const sink = new IngestCollector();
  if (options?.format === 'influx') parseInfluxLines(data, sink, options);
  else parseDatagram(data, sink, options);
  return sink;
}

/** Readings and reasons; a too-long line's view may be only its start when it was split. */
const outcome = (sink: IngestCollector) => ({
  readings: sink.readings,
  reasons: sink.rejects.map((r) => r.reason),
  lines: sink.rejects.filter((r) => r.reason !== 'line-too-long').map((r) => r.line),
  ignored: sink.ignoredCount,
});

describe('IngestDecoder', () => {
  it('reads Graphite plaintext as collectd sends it over TCP, lines split anywhere', () => {
    const stream = bytes('nas.cpu-0.cpu-idle 98.5 1764316800\r\nnas.load.load.shortterm 0.25 1764316800\r\n');
    const sink = decode(oneByteAtATime(stream));
    expect(sink.rejects).toEqual([]);
    expect(sink.readings.map((r) => [r.name, r.value, r.timestampMs])).toEqual([
      ['nas.cpu-0.cpu-idle', 98.5, 1764316800000],
      ['nas.load.load.shortterm', 0.25, 1764316800000],
    ]);
  });

  it('maps Graphite tags with sanitizeNames', () => {
    const sink = decode([bytes('disk.used;dc=1 42 1764316800\n')], { sanitizeNames: true });
    expect(sink.readings.map((r) => r.name)).toEqual(['disk.used_dc_1']);
  });

  it('reads the last line when the stream ends without an LF, and only then', () => {
    const decoder = new IngestDecoder();
    const sink = new IngestCollector();
    decoder.push(bytes('a 1\nb 2'), sink);
    expect(sink.readings.map((r) => r.name)).toEqual(['a']);
    expect(decoder.pendingBytes).toBe(3);
    decoder.end(sink);
    expect(sink.readings.map((r) => r.name)).toEqual(['a', 'b']);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('refuses a line over maxLineBytes once, buffering no more than the limit, and goes on after its LF', () => {
    const decoder = new IngestDecoder({ maxLineBytes: 8 });
    const sink = new IngestCollector();
    for (const chunk of ['ok 1\nlong', 'er-than-', 'eight-bytes', ' 1\nok', ' 2\n']) {
      decoder.push(bytes(chunk), sink);
      expect(decoder.pendingBytes).toBeLessThanOrEqual(8);
    }
    decoder.end(sink);
    expect(sink.readings.map((r) => [r.name, r.value])).toEqual([
      ['ok', 1],
      ['ok', 2],
    ]);
    expect(sink.rejects).toEqual([{ reason: 'line-too-long', line: 'long' }]); // the start of the line, as held
  });

  it('refuses a too-long tail of a chunk at once', () => {
    const sink = decode([bytes(`ok 1\n${'x'.repeat(20)}`), bytes('yyy\nok 2\n')], { maxLineBytes: 10 });
    expect(sink.readings.map((r) => r.value)).toEqual([1, 2]);
    expect(sink.rejects).toEqual([{ reason: 'line-too-long', line: 'x'.repeat(20) }]);
  });

  it("reads line protocol only with format 'influx', in the given precision", () => {
    const stream = bytes('# telegraf\ncpu,host=a usage=0.5 1764316800\nramp 1\n');
    const sink = decode(cut(stream, [7, 20, 33]), { format: 'influx', influxPrecision: 's' });
    expect(sink.readings).toEqual([
      { name: 'cpu/a/usage', value: 0.5, timestampMs: 1764316800000, senderSeq: undefined },
    ]);
    expect(sink.rejects).toEqual([{ reason: 'bad-syntax', line: 'ramp 1' }]);
  });

  it("has a 1024-byte line limit by default, and 64 KiB with format 'influx'", () => {
    const line = `m ${'v'.repeat(2000)}=1\n`;
    expect(decode([bytes(line)]).rejects.map((r) => r.reason)).toEqual(['line-too-long']);
    expect(decode([bytes(line)], { format: 'influx' }).rejects.map((r) => r.reason)).toEqual(['bad-name']);
  });

  it('validates its options', () => {
    expect(() => new IngestDecoder({ format: 'graphite' as 'auto' })).toThrow(RangeError);
    expect(() => new IngestDecoder({ maxLineBytes: 0 })).toThrow(RangeError);
    expect(() => new IngestDecoder({ influxPrecision: 'm' as 's' })).toThrow(RangeError);
  });

  it('gives the same readings and reasons however the stream is cut, as parsing it whole', () => {
    fc.assert(
      fc.property(
        streamBytes,
        cutPoints,
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        (stream, points, maxLineBytes, sanitizeNames) => {
          const options = { maxLineBytes, sanitizeNames };
          expect(outcome(decode(cut(stream, points), options))).toEqual(outcome(whole(stream, options)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("gives the same for format 'influx'", () => {
    const influxish = fc
      .array(fc.constantFrom(...bytes('\n\r m,t=a v=1 f="x\\" 12i 3.5 #')), { maxLength: 200 })
      .map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(
        fc.oneof(influxish, streamBytes),
        cutPoints,
        fc.integer({ min: 1, max: 40 }),
        (stream, points, max) => {
          const options: IngestDecoderOptions = { format: 'influx', maxLineBytes: max };
          expect(outcome(decode(cut(stream, points), options))).toEqual(outcome(whole(stream, options)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
