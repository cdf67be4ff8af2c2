// Scenario 7, the parser alone: an in-process microbenchmark of
// @opc-lite/protocol's parseDatagram (the built dist/index.js) on legacy
// datagrams and on ~1.4 kB native batches, against a naive split()-and-Number()
// parser on the same datagrams in the same run. Each measurement runs in its
// own Node process (bench/parser-bench.mjs) so that one parser's JIT profile
// does not colour the other's.
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import { pinned, placement, ROOT } from '../lib/servers.mjs';
import { spread } from '../lib/util.mjs';

const CASES = [
  { key: 'legacy', label: 'legacy', form: 'legacy' },
  { key: 'native', label: 'native', form: 'native' },
];

function bench(impl, form, seconds) {
  return new Promise((resolve, reject) => {
    const args = [`${ROOT}bench/parser-bench.mjs`, '--impl', impl, '--form', form, '--seconds', String(seconds)];
    const [cmd, argv] = pinned(process.execPath, args, placement.serverCpu);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000 + 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`parser-bench ${args.slice(1).join(' ')} failed: ${e.message}\n${err}`));
      }
    });
  });
}

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 7,
  slug: 'parser',
  title: 'parser alone (in-process): lines/s of parseDatagram against a naive split()+Number() parser',
  servers: ['opc-lite', 'naive'],
  primary: 'lines_per_s',
  cases: () => CASES,
  start: async (kind) => ({ kind, port: 0, stop: async () => {} }),
  async measure({ server, kase, ctx }) {
    const r = await bench(server.kind === 'opc-lite' ? 'opc' : 'naive', kase.form, ctx.seconds);
    return {
      lines: r.lines,
      lines_per_s: r.linesPerS,
      datagrams_per_s: r.datagramsPerS,
      mb_per_s: r.bytesPerS / 1e6,
      rejects: r.rejects,
      checksum: r.checksum,
    };
  },
  line(kase, r, order) {
    return `${kase.label.padEnd(7)} ${order
      .filter((k) => r[k])
      .map((k) => `${k} ${spread(r[k].lines_per_s)} lines/s (${r[k].mb_per_s.median.toFixed(0)} MB/s)`)
      .join(' | ')}`;
  },
  // Both parsers read the same datagrams: the same count and sum of values, or one of them is wrong.
  crossCheck: (kase, runs) => {
    const sums = new Set(Object.values(runs).flatMap((rs) => rs.map((r) => r.checksum)));
    return sums.size <= 1 ? undefined : `the parsers disagree on the ${kase.form} corpus: ${[...sums].join(' vs ')}`;
  },
  check: (m) => (m.lines > 0 && m.rejects === 0 ? undefined : `lines ${m.lines}, rejects ${m.rejects}`),
};
