// Renders bench/results/*.json as the Markdown tables of docs/PERFORMANCE.md.
//
//   node bench/report.mjs [results-dir]              print them
//   node bench/report.mjs --update-doc [results-dir] replace them in docs/PERFORMANCE.md
//                                                    (between the results:begin and results:end markers)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { micros, mib, percent, si } from './lib/util.mjs';

const args = process.argv.slice(2);
const updateDoc = args.includes('--update-doc');
const dir = args.find((a) => !a.startsWith('--')) ?? fileURLToPath(new URL('./results/', import.meta.url));
const records = readdirSync(dir)
  .filter((f) => /^\d+-.*\.json$/.test(f))
  .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
  .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')));

const cell = (s, fmt = si) => {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  return s.min === s.max ? fmt(s.median) : `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]`;
};
const x = (v) => (Number.isFinite(v) ? `×${v.toFixed(2)}` : 'n/a');
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const out = [];
const first = records[0];
if (first) {
  const m = first.machine;
  out.push(
    `Run of ${first.date.slice(0, 16).replace('T', ' ')} UTC at commit ${first.commit}: ${first.options.repeat} repeats × ` +
      `${first.options.seconds} s per measurement${first.options.pin ? ', servers on CPU 1, load on CPU 0' : ''}; ` +
      `${m.nproc} × ${m.cpuModel}, Linux ${m.kernel}, Node ${m.node}, Python ${m.python}, gcc ${m.gcc}. ` +
      'Cells are median [min–max] over the repeats; × is the ratio of the medians.',
  );
}
for (const rec of records) {
  out.push(`\n### ${rec.scenario}. ${rec.title}\n`);
  // Scenarios may come from different runs: say so where one does.
  if (first && rec.commit !== first.commit) {
    const load = rec.machine?.loadavg === undefined ? '' : `, load average ${rec.machine.loadavg}`;
    out.push(`Run of ${rec.date.slice(0, 16).replace('T', ' ')} UTC at commit ${rec.commit}${load}.\n`);
  }
  const c = rec.cases;
  const s = (k, kind) => c.find((kk) => kk.key === k)?.summary?.[kind];
  const r = (k, name) => c.find((kk) => kk.key === k)?.ratios?.[name];
  switch (rec.scenario) {
    case 1:
      out.push(
        table(
          [
            'rate',
            'opc-lite stored/s',
            'loss',
            'plain Node stored/s',
            'loss',
            'Python seed stored/s',
            'loss',
            '×Node',
            '×Python',
          ],
          c.map((k) => [
            k.label,
            cell(s(k.key, 'opc-lite')?.stored_per_s),
            cell(s(k.key, 'opc-lite')?.loss_pct, percent),
            cell(s(k.key, 'node')?.stored_per_s),
            cell(s(k.key, 'node')?.loss_pct, percent),
            cell(s(k.key, 'python')?.stored_per_s),
            cell(s(k.key, 'python')?.loss_pct, percent),
            x(r(k.key, 'stored_per_s opc-lite/node')),
            x(r(k.key, 'stored_per_s opc-lite/python')),
          ]),
        ),
      );
      break;
    case 2:
      out.push(
        table(
          ['batch', 'readings/s', 'datagrams/s', 'lines × bytes', 'sender → stored loss', 'server CPU'],
          c.map((k) => {
            const m = s(k.key, 'opc-lite');
            return [
              k.label,
              cell(m.readings_per_s),
              cell(m.datagrams_per_s),
              `${m.lines_per_datagram.median.toFixed(0)} × ${m.bytes_per_datagram.median.toFixed(0)} B`,
              cell(m.loss_pct, percent),
              `${Math.round(m.server_cpu_pct.median)}%`,
            ];
          }),
        ),
      );
      break;
    case 3:
    case 4: {
      const metric = rec.scenario === 3 ? 'requests_per_s' : 'connections_per_s';
      out.push(
        table(
          [
            'case',
            'opc-lite /s',
            'plain Node /s',
            'Python seed /s',
            '×Node',
            '×Python',
            'p99 opc-lite / Node / Python',
          ],
          c.map((k) => [
            k.label,
            cell(s(k.key, 'opc-lite')?.[metric]),
            cell(s(k.key, 'node')?.[metric]),
            cell(s(k.key, 'python')?.[metric]),
            x(r(k.key, `${metric} opc-lite/node`)),
            x(r(k.key, `${metric} opc-lite/python`)),
            ['opc-lite', 'node', 'python'].map((kind) => micros(s(k.key, kind)?.p99_us?.median)).join(' / '),
          ]),
        ),
      );
      const one = c.filter((k) => k.params.conns === 1 && k.params.depth === 1);
      if (one.length) {
        out.push('\nSingle-request latency (median over repeats [range]):\n');
        out.push(
          table(
            ['case', 'server', 'p50', 'p99', 'p99.9'],
            one.flatMap((k) =>
              ['opc-lite', 'node', 'python'].map((kind) => [
                k.label,
                kind,
                cell(s(k.key, kind)?.p50_us, micros),
                cell(s(k.key, kind)?.p99_us, micros),
                cell(s(k.key, kind)?.p999_us, micros),
              ]),
            ),
          ),
        );
      }
      break;
    }
    case 5:
      out.push(
        table(
          [
            'subscribers',
            'pushes/s',
            'dropped (max)',
            'missing (max)',
            'latency p50',
            'latency p99',
            'pushes per write',
            'server CPU',
          ],
          c.map((k) => {
            const m = s(k.key, 'opc-lite');
            return [
              k.label,
              cell(m.pushes_per_s),
              si(m.pushes_dropped.max),
              si(m.missing.max),
              cell(m.latency_p50_us, micros),
              cell(m.latency_p99_us, micros),
              m.pushes_per_write.median.toFixed(1),
              `${Math.round(m.server_cpu_pct.median)}%`,
            ];
          }),
        ),
      );
      break;
    case 6:
      out.push(
        table(
          [
            'sensors × history',
            'raw columns',
            'RSS',
            'RSS / raw',
            'RssAnon / raw',
            'RssFile',
            'idle RSS',
            'bytes/reading',
          ],
          c.map((k) => {
            const m = s(k.key, 'opc-lite');
            return [
              k.label,
              mib(m.raw_bytes.median),
              cell(m.rss_bytes, mib),
              cell(m.rss_over_raw, x),
              cell(m.anon_over_raw, x),
              mib(m.rss_file_bytes.median),
              mib(m.rss_idle_bytes.median),
              m.bytes_per_reading.median.toFixed(1),
            ];
          }),
        ),
      );
      break;
    case 7:
      out.push(
        table(
          ['form', 'opc-lite lines/s', 'naive lines/s', '×naive'],
          c.map((k) => [
            k.label,
            cell(s(k.key, 'opc-lite')?.lines_per_s),
            cell(s(k.key, 'naive')?.lines_per_s),
            x(r(k.key, 'lines_per_s opc-lite/naive')),
          ]),
        ),
      );
      break;
    case 8:
      out.push(
        table(
          [
            'load',
            'with a data dir /s',
            'loss',
            '--memory /s',
            'loss',
            '×memory',
            'CPU µs/reading disk / memory',
            'checkpoints',
            'server CPU',
          ],
          c.map((k) => [
            k.label,
            cell(s(k.key, 'disk')?.readings_per_s),
            cell(s(k.key, 'disk')?.loss_pct, percent),
            cell(s(k.key, 'memory')?.readings_per_s),
            cell(s(k.key, 'memory')?.loss_pct, percent),
            x(r(k.key, 'readings_per_s disk/memory')),
            `${s(k.key, 'disk')?.cpu_us_per_reading?.median?.toPrecision(3)} / ${s(k.key, 'memory')?.cpu_us_per_reading?.median?.toPrecision(3)} (${x(r(k.key, 'cpu_us_per_reading disk/memory'))})`,
            String(Math.round(s(k.key, 'disk')?.checkpoints?.median)),
            `${Math.round(s(k.key, 'disk')?.server_cpu_pct?.median)}% / ${Math.round(s(k.key, 'memory')?.server_cpu_pct?.median)}%`,
          ]),
        ),
      );
      break;
    case 9: {
      const b = (v) => `${v.toFixed(2)} B`;
      out.push(
        table(
          ['workload', 'readings', 'bytes/reading', 'raw 16 B ÷', 'chunk files', 'checkpoint', 'allocated/reading'],
          c.map((k) => {
            const m = s(k.key, 'opc-lite');
            return [
              `${k.label} (${m.sensors.median} sensors)`,
              si(m.stored.median),
              cell(m.bytes_per_reading, b),
              m.raw_over_bytes.median.toFixed(1),
              `${si(m.chunk_bytes.median)}B`,
              `${si(m.checkpoint_bytes.median)}B`,
              b(m.allocated_per_reading.median),
            ];
          }),
        ),
      );
      break;
    }
    case 10: {
      const ms = (v) => `${Math.round(v)} ms`;
      out.push(
        table(
          ['start', 'spawn → n + GET', 'listening', 'store opened', 'readings', 'ms per million', 'from the log'],
          c.map((k) => {
            const m = s(k.key, 'opc-lite');
            return [
              k.label,
              cell(m.total_ms, ms),
              ms(m.ready_ms.median),
              ms(m.recovery_ms.median),
              si(m.readings.median),
              Number.isFinite(m.ms_per_million?.median) ? ms(m.ms_per_million.median) : '',
              m.tail?.median ? `${si(m.tail.median)} (${si(m.wal_bytes.median)}B)` : '',
            ];
          }),
        ),
      );
      break;
    }
    case 11: {
      const ms = (v) => `${v.toFixed(1)} ms`;
      out.push(
        table(
          ['RANGE', 'opc-lite', 'DuckDB in-memory', 'DuckDB Parquet', '×DuckDB', '×Parquet'],
          c.map((k) => [
            k.label,
            cell(s(k.key, 'opc-lite')?.ms, ms),
            cell(s(k.key, 'duckdb')?.ms, ms),
            cell(s(k.key, 'duckdb-parquet')?.ms, ms),
            x(r(k.key, 'ms opc-lite/duckdb')),
            x(r(k.key, 'ms opc-lite/duckdb-parquet')),
          ]),
        ),
      );
      break;
    }
    default:
      out.push(rec.lines.map((l) => `    ${l}`).join('\n'));
  }
}
let targetsText = '';
try {
  const { targets } = JSON.parse(readFileSync(`${dir}/targets.json`, 'utf8'));
  targetsText = table(
    ['target', 'this run', 'met', 'what limits it'],
    targets.map((t) => [t.name, t.detail, t.met ? 'yes' : '**no**', t.see ? `[why](#${t.see})` : '']),
  );
} catch {
  // no targets.json: a partial run
}
const text = `${out.join('\n')}\n`;
if (updateDoc) {
  const doc = fileURLToPath(new URL('../docs/PERFORMANCE.md', import.meta.url));
  const splice = (text0, name, body) => {
    const m = new RegExp(`(<!-- ${name}:begin -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`).exec(text0);
    if (!m) throw new Error(`docs/PERFORMANCE.md has no ${name}:begin/${name}:end markers`);
    return text0.replace(m[0], `${m[1]}${body}\n${m[2]}`);
  };
  writeFileSync(doc, splice(splice(readFileSync(doc, 'utf8'), 'results', text), 'targets', targetsText));
  process.stdout.write(`updated ${doc}\n`);
} else {
  process.stdout.write(`${text}\n${targetsText}\n`);
}
