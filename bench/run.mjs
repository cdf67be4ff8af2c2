#!/usr/bin/env node
// `pnpm bench`: opc-lite's performance harness.
//
//   pnpm bench                                   every scenario, 3 repeats, 2 s per measurement
//   pnpm bench -- --scenario 3 --repeat 5 --seconds 3
//   pnpm bench -- --servers opc-lite,node        only these servers
//   pnpm bench:smoke                             every scenario, tiny: checks the harness works (CI)
//
// Builds the workspace's server if needed (turbo caches it), compiles the C
// load generators into bench/build/ when their sources changed, then runs the
// scenarios. Each measurement is repeated, interleaved across the servers (a
// fresh set of servers per repeat, their order rotated), and each figure is
// printed as median [min–max] with the ratio of opc-lite's median against each
// reference's. JSON goes to bench/results/<id>-<slug>.json.
import process from 'node:process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { compileLoadgen } from './lib/loadgen.mjs';
import { machine } from './lib/proc.mjs';
import { opcNodeFlags, placement, ROOT, SERVERS, startServer } from './lib/servers.mjs';
import { ratio, rotate, summarize } from './lib/util.mjs';
import { evaluateTargets } from './targets.mjs';
import s1 from './scenarios/1-legacy-ingest.mjs';
import s2 from './scenarios/2-batched-ingest.mjs';
import s3 from './scenarios/3-legacy-poll.mjs';
import s4 from './scenarios/4-connect-per-poll.mjs';
import s5 from './scenarios/5-fan-out.mjs';
import s6 from './scenarios/6-memory.mjs';
import s7 from './scenarios/7-parser.mjs';
import s8 from './scenarios/8-storage-ingest.mjs';
import s9 from './scenarios/9-disk-bytes.mjs';
import s10 from './scenarios/10-restart.mjs';
import s11 from './scenarios/11-range.mjs';
import s12 from './scenarios/12-page.mjs';
import s13 from './scenarios/13-sse-fan-out.mjs';
import s14 from './scenarios/14-http-range.mjs';
import s15 from './scenarios/15-mqtt-in.mjs';
import s16 from './scenarios/16-influx-parser.mjs';
import s17 from './scenarios/17-cluster.mjs';
import s18 from './scenarios/18-brute-force.mjs';

/**
 * @typedef {object} Scenario
 * @property {number} id
 * @property {string} slug
 * @property {string} title
 * @property {string[]} servers          the servers (or implementations) it applies to; opc-lite first
 * @property {string} primary            the metric the ratios compare
 * @property {boolean} [lowerIsBetter]
 * @property {(ctx: object) => object[]} cases
 * @property {(kind: string, ctx: object) => string[]} [serverArgs]
 * @property {(kind: string, ctx: object) => Promise<object>} [start]
 * @property {(server: object) => Promise<void>} [prepare]
 * @property {(args: object) => Promise<Record<string, number>>} measure
 * @property {(kase: object, r: object, order: string[]) => string} line
 * @property {(kase: object) => string[]} [extraRatios]
 * @property {(m: object, kase: object) => string | undefined} [check]
 * @property {(kase: object, runs: Record<string, object[]>) => string | undefined} [crossCheck]
 */

const SCENARIOS = [s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18];

const { values: opts } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    scenario: { type: 'string' },
    repeat: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    servers: { type: 'string' },
    case: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'results-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opts.help) {
  process.stdout.write(
    [
      'usage: node bench/run.mjs [--scenario 1,3] [--repeat 3] [--seconds 2] [--warmup 0.5]',
      '                          [--servers opc-lite,node,python] [--case KEY,...] [--smoke] [--no-build]',
      '                          [--no-pin] [--profile]',
      '                          [--results-dir DIR]',
      '',
      '--profile: run the opc-lite server under node --cpu-prof (profiles in bench/build/profiles/;',
      '           summarise one with node bench/profile-summary.mjs <file>)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const num = (text, name, min, max) => {
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > max) {
    process.stderr.write(`bench: --${name} must be a number from ${min} to ${max} (got ${text})\n`);
    process.exit(2);
  }
  return v;
};

const smoke = opts.smoke;
const ctx = {
  smoke,
  repeat: opts.repeat ? num(opts.repeat, 'repeat', 1, 50) : smoke ? 1 : 3,
  seconds: opts.seconds ? num(opts.seconds, 'seconds', 0.1, 120) : smoke ? 0.25 : 2,
  warmup: opts.warmup ? num(opts.warmup, 'warmup', 0, 30) : smoke ? 0 : 0.5,
};
// The Python seed reference needs python3; without it the runs go on without that reference.
const hasPython = (() => {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// One core for the server, the other for the load (see lib/servers.mjs), when there are two and taskset exists.
const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
placement.pin = !opts['no-pin'] && os.availableParallelism() >= 2 && hasTaskset;
ctx.pin = placement.pin;
// --profile: the opc-lite server runs under `node --cpu-prof`; one .cpuprofile per server process, written when it exits.
const profileDir = `${ROOT}bench/build/profiles`;
if (opts.profile) {
  mkdirSync(profileDir, { recursive: true });
  opcNodeFlags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
}
const wanted = opts.scenario
  ? opts.scenario.split(',').map((s) => num(s.trim(), 'scenario', 1, Math.max(...SCENARIOS.map((x) => x.id))))
  : SCENARIOS.map((s) => s.id);
const caseFilter = opts.case ? new Set(opts.case.split(',').map((s) => s.trim())) : undefined;
const serverFilter = opts.servers ? new Set(opts.servers.split(',').map((s) => s.trim())) : undefined;
if (serverFilter) {
  for (const s of serverFilter) {
    if (!(s in SERVERS)) {
      process.stderr.write(`bench: unknown server '${s}' (one of ${Object.keys(SERVERS).join(', ')})\n`);
      process.exit(2);
    }
  }
}
const resultsDir =
  opts['results-dir'] ??
  (smoke
    ? `${os.tmpdir()}/opc-lite-bench-smoke`
    : opts.profile
      ? `${ROOT}bench/build/profiles/results` // figures under a profiler are not the product's
      : `${ROOT}bench/results`);

// Servers alive right now, so that Ctrl-C and failures leave nothing behind.
const live = new Set();
const stopAll = () => Promise.all([...live].map((s) => s.stop().finally(() => live.delete(s))));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping servers\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

const log = (line) => process.stdout.write(`${line}\n`);
const started = Date.now();

function build() {
  if (!hasPython) log('python3 not found: the Python seed reference is skipped');
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('gcc not found: the load generators are C programs compiled on this machine (apt-get install gcc)');
  }
  if (!opts['no-build']) {
    log('building the server and the protocol package (turbo; cached when unchanged)...');
    execFileSync(
      'pnpm',
      [
        'turbo',
        'run',
        'build',
        '--filter',
        'opc-server',
        '--filter',
        '@opc-lite/protocol',
        '--output-logs=errors-only',
      ],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
    );
  }
  const compiled = compileLoadgen();
  log(compiled.length ? `compiled ${compiled.join(', ')} into bench/build/` : 'load generators up to date');
}

const gitCommit = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};

async function runScenario(scenario, mach) {
  const kinds = scenario.servers.filter(
    (k) => (!serverFilter || !(k in SERVERS) || serverFilter.has(k)) && !(k === 'python' && !hasPython),
  );
  if (kinds.length === 0) {
    log(`\n[${scenario.id}] ${scenario.title}: skipped (none of ${scenario.servers.join(', ')} selected)`);
    return undefined;
  }
  const cases = scenario.cases(ctx).filter((c) => !caseFilter || caseFilter.has(c.key));
  /** results[caseKey][kind] = array of metric objects */
  const results = Object.fromEntries(cases.map((c) => [c.key, Object.fromEntries(kinds.map((k) => [k, []]))]));
  const serverInfo = {};
  const failures = [];
  log(`\n[${scenario.id}] ${scenario.title}`);
  for (let rep = 0; rep < ctx.repeat; rep++) {
    const order = rotate(kinds, rep);
    const servers = {};
    try {
      for (const kind of order) {
        const extraArgs = scenario.serverArgs?.(kind, ctx) ?? [];
        const server = scenario.start ? await scenario.start(kind, ctx) : await startServer(kind, { extraArgs });
        live.add(server);
        servers[kind] = server;
        serverInfo[kind] ??= {
          recvBufferBytes: server.recvBufferBytes,
          requestedRecvBufferBytes: server.requestedRecvBufferBytes,
        };
        await scenario.prepare?.(server, ctx);
      }
      for (const kase of cases) {
        for (const kind of order) {
          const m = await scenario.measure({ server: servers[kind], kase, ctx, rep });
          results[kase.key][kind].push(m);
          const problem = scenario.check?.(m, kase);
          if (problem) failures.push(`${kase.label} on ${kind}, repeat ${rep + 1}: ${problem}`);
        }
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop().finally(() => live.delete(s))));
    }
  }

  for (const kase of cases) {
    const problem = scenario.crossCheck?.(kase, results[kase.key]);
    if (problem) failures.push(`${kase.label}: ${problem}`);
  }
  const out = [];
  const json = [];
  for (const kase of cases) {
    const summary = {};
    for (const kind of kinds) {
      const runs = results[kase.key][kind];
      if (!runs.length) continue;
      summary[kind] = Object.fromEntries(Object.keys(runs[0]).map((key) => [key, summarize(runs.map((r) => r[key]))]));
    }
    const ratios = {};
    const [mine, ...refs] = kinds;
    for (const metric of [scenario.primary, ...(scenario.extraRatios?.(kase) ?? [])]) {
      for (const ref of refs) {
        const a = summary[mine]?.[metric]?.median;
        const b = summary[ref]?.[metric]?.median;
        if (a !== undefined && b !== undefined) ratios[`${metric} ${mine}/${ref}`] = a / b;
      }
    }
    let line = scenario.line(kase, summary, kinds);
    const ratioText = Object.entries(ratios)
      .map(([k, v]) => `${k.replace(`${scenario.primary} `, '')} ${ratio(v, 1)}`)
      .join(' ');
    if (ratioText) line += ` || ${ratioText}`;
    out.push(line);
    log(`  ${line}`);
    const medians = Object.fromEntries(
      Object.entries(summary).map(([kind, metrics]) => [
        kind,
        Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { median: v.median, min: v.min, max: v.max }])),
      ]),
    );
    json.push({ key: kase.key, label: kase.label, params: kase, summary: medians, ratios, runs: results[kase.key] });
  }
  if (failures.length) for (const f of failures) log(`  CHECK FAILED: ${f}`);

  const record = {
    scenario: scenario.id,
    slug: scenario.slug,
    title: scenario.title,
    primary: scenario.primary,
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: mach,
    options: ctx,
    servers: serverInfo,
    lines: out,
    failures,
    cases: json,
  };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(`${resultsDir}/${scenario.id}-${scenario.slug}.json`, `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

async function main() {
  build();
  const mach = machine();
  log(
    `machine: ${mach.nproc} × ${mach.cpuModel}, Linux ${mach.kernel}, node ${mach.node}, python ${mach.python}, ` +
      `gcc ${mach.gcc}; net.core.rmem_default ${mach.rmemDefault}, rmem_max ${mach.rmemMax}`,
  );
  log(
    placement.pin
      ? `placement: servers on CPU ${placement.serverCpu}, load generators on CPU ${placement.loadCpu} (taskset; --no-pin to let the scheduler choose)`
      : 'placement: unpinned (the scheduler chooses)',
  );
  log(
    `runs: ${ctx.repeat} repeat(s) × ${ctx.seconds} s (+${ctx.warmup} s warm-up for polls), interleaved; ` +
      `figures are median [min–max]; "×" = opc-lite's median / the reference's median${smoke ? ' (SMOKE: no figure means anything)' : ''}`,
  );
  const records = [];
  let failed = 0;
  for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.id))) {
    try {
      const record = await runScenario(scenario, mach);
      if (!record) continue;
      records.push(record);
      failed += record.failures.length;
    } catch (err) {
      failed++;
      log(`  SCENARIO ${scenario.id} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  if (!smoke && records.length) {
    const all = evaluateTargets(records);
    const targets = all.filter((t) => t.met !== undefined);
    if (targets.length) {
      log('\ntargets (medians, this run):');
      for (const t of targets) log(`  ${t.met ? '  ok' : 'MISS'}  ${t.name}: ${t.detail}`);
      // A run of some scenarios keeps the other targets' last figures, as results/ keeps those scenarios' JSON.
      const file = `${resultsDir}/targets.json`;
      let previous = [];
      try {
        previous = JSON.parse(readFileSync(file, 'utf8')).targets ?? [];
      } catch {
        // none yet
      }
      const date = new Date().toISOString();
      const merged = all
        .map((t) => (t.met !== undefined ? { ...t, date } : previous.find((p) => p.name === t.name)))
        .filter(Boolean);
      writeFileSync(file, `${JSON.stringify({ date, targets: merged }, null, 2)}\n`);
    }
  }
  log(
    `\n${failed ? `${failed} check(s) failed` : 'all checks passed'}; ${((Date.now() - started) / 1000).toFixed(1)} s; JSON in ${resultsDir}`,
  );
  process.exitCode = failed ? 1 : 0;
}

main()
  .catch((err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
