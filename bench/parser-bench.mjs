// The parser microbenchmark behind scenario 7, one implementation per process:
//
//   node bench/parser-bench.mjs --impl opc|naive --form legacy|native --seconds 2
//
// opc: parseDatagram from the built packages/protocol/dist/index.js, with a NameCache as the server uses it.
// naive: what a Node developer writes first: toString(), split('\n'), trim(),
// split(/\s+/), Number(). It validates less (names are not checked).
// Both run over the same datagrams: 1,000 legacy bare floats, or 1,000 native
// batches of `name value ts seq` lines filled to ≤1,432 bytes. Prints one JSON
// line: lines/s, datagrams/s, bytes/s, and a checksum (count and sum of the
// values) that must agree between the two.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    impl: { type: 'string', default: 'opc' },
    form: { type: 'string', default: 'legacy' },
    seconds: { type: 'string', default: '2' },
  },
});
const seconds = Number(opts.seconds);
if (!(seconds > 0 && seconds <= 600)) throw new RangeError('--seconds must be in (0, 600]');

/** Python's str(float) and JavaScript's String(number) agree on these: what the original Medidor sends. */
function legacyCorpus() {
  const out = [];
  for (let i = 0; i < 1000; i++) {
    const v = i % 3 === 0 ? (i % 1000) / 1000 : i % 3 === 1 ? ((i * 7919) % 1000) / 997 : -i * 0.0371;
    out.push(Buffer.from(String(v), 'latin1'));
  }
  return out;
}

function nativeCorpus() {
  const out = [];
  const t0 = 1764316800;
  let seq = 0;
  for (let i = 0; i < 1000; i++) {
    const lines = [];
    let bytes = 0;
    for (;;) {
      seq++;
      const ts = (t0 + seq / 1000).toFixed(3);
      const line = `sensor${seq % 16} ${((seq % 1000) / 1000).toString()} ${ts} ${seq}`;
      if (bytes + line.length + (lines.length ? 1 : 0) > 1432) break;
      bytes += line.length + (lines.length ? 1 : 0);
      lines.push(line);
    }
    out.push(Buffer.from(lines.join('\n'), 'latin1'));
  }
  return out;
}

function naiveParse(datagram, sink) {
  for (const raw of datagram.toString('utf8').split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    if (f.length === 1) {
      const v = Number(f[0]);
      if (Number.isFinite(v)) sink.reading('default', v, NaN, -1);
      else sink.reject('bad-number', raw);
    } else if (f.length <= 4) {
      const v = Number(f[1]);
      const ts = f.length > 2 ? Number(f[2]) : -1;
      const seq = f.length > 3 ? Number(f[3]) : -1;
      if (!Number.isFinite(v)) sink.reject('bad-number', raw);
      else if (!Number.isFinite(ts)) sink.reject('bad-timestamp', raw);
      else sink.reading(f[0], v, ts === -1 ? NaN : ts * 1000, seq);
    } else {
      sink.reject('bad-syntax', raw);
    }
  }
}

let parse;
if (opts.impl === 'opc') {
  const protocol = await import(new URL('../packages/protocol/dist/index.js', import.meta.url).href);
  if (typeof protocol.parseDatagram !== 'function') {
    throw new Error('packages/protocol/dist/index.js has no parseDatagram: build it (pnpm turbo run build)');
  }
  // As the server calls it: one long-lived NameCache, so a sensor's name string is built once, not per line.
  const options = typeof protocol.NameCache === 'function' ? { nameCache: new protocol.NameCache() } : undefined;
  parse = (datagram, sink) => protocol.parseDatagram(datagram, sink, options);
} else if (opts.impl === 'naive') {
  parse = naiveParse;
} else {
  throw new RangeError('--impl must be opc or naive');
}

const corpus = opts.form === 'native' ? nativeCorpus() : opts.form === 'legacy' ? legacyCorpus() : undefined;
if (!corpus) throw new RangeError('--form must be legacy or native');

let lines = 0;
let rejects = 0;
let sum = 0;
const sink = {
  reading(_name, value) {
    lines++;
    sum += value;
  },
  reject() {
    rejects++;
  },
};

// Checksum pass: one trip over the corpus.
for (const d of corpus) parse(d, sink);
const checksum = `${lines}:${sum.toFixed(6)}`;
const corpusBytes = corpus.reduce((n, d) => n + d.length, 0);

function run(forMs) {
  lines = 0;
  rejects = 0;
  let datagrams = 0;
  let bytes = 0;
  const start = performance.now();
  const deadline = start + forMs;
  let now = start;
  // Bounded: at most 1e9 datagrams, and the deadline is checked every pass over the corpus.
  while (now < deadline && datagrams < 1e9) {
    for (let i = 0; i < corpus.length; i++) parse(corpus[i], sink);
    datagrams += corpus.length;
    bytes += corpusBytes;
    now = performance.now();
  }
  return { datagrams, bytes, elapsedS: (now - start) / 1000 };
}

run(Math.min(500, seconds * 250)); // warm-up: let the JIT settle
const r = run(seconds * 1000);
process.stdout.write(
  `${JSON.stringify({
    impl: opts.impl,
    form: opts.form,
    lines,
    rejects,
    linesPerS: lines / r.elapsedS,
    datagramsPerS: r.datagrams / r.elapsedS,
    bytesPerS: r.bytes / r.elapsedS,
    elapsedS: r.elapsedS,
    checksum,
  })}\n`,
);
