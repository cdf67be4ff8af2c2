// Summarises a V8 .cpuprofile (from `pnpm bench -- --profile`, or any
// `node --cpu-prof` run): where the time went, by function, self and total.
//
//   node bench/profile-summary.mjs bench/build/profiles/CPU.<...>.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

const where = (cf) => {
  const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(/^.*\/(packages|apps|node_modules)\//, '$1/') : '';
  return file ? `${file}:${cf.lineNumber + 1}` : '';
};
const label = (cf) => `${cf.functionName || '(anonymous)'} ${where(cf)}`.trim();

const self = new Map();
const total = new Map();
let all = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  all += us;
  const name = label(node.callFrame);
  if (node.callFrame.functionName === '(idle)') idle += us;
  self.set(name, (self.get(name) ?? 0) + us);
  // inclusive: every distinct function on the stack gets the sample once
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur).callFrame);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + us);
  }
}

const busy = all - idle;
const pct = (us, of) => `${((100 * us) / of).toFixed(1).padStart(5)}%`;
const out = [];
out.push(`profile: ${(all / 1e6).toFixed(2)} s sampled, idle ${pct(idle, all)}, busy ${(busy / 1e6).toFixed(2)} s`);
out.push(`\nself time (% of busy):`);
for (const [name, us] of [...self]
  .filter(([n]) => !n.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  out.push(`  ${pct(us, busy)}  ${name}`);
}
out.push(`\ntotal time, callees included (% of busy):`);
for (const [name, us] of [...total]
  .filter(([n]) => !n.startsWith('(idle)') && !n.startsWith('(root)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  out.push(`  ${pct(us, busy)}  ${name}`);
}
process.stdout.write(`${out.join('\n')}\n`);
