/**
 * "Did you mean": the known long option closest to a mistyped one. Pure.
 *
 * How it works: the distance is the optimal-string-alignment edit distance
 * (insert, delete, substitute, or swap two neighbours, each costing 1), so
 * `--histroy` is one step from `--history`. A suggestion is made only when it
 * is close (at most 1 edit for names up to 4 characters, 2 beyond) and no
 * other option is as close, or when the typed name starts exactly one option.
 *
 * Each app (apps/opc-server, apps/reader, apps/sensor) has this same file, so
 * that none of them depends on another for it; keep the copies alike.
 */

/** Edit distance between `a` and `b`, where swapping two neighbouring characters counts as one edit. */
export function editDistance(a: string, b: string): number {
  // rows[i][j]: distance between a[0, i) and b[0, j); three rows are enough for the swap.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The option to suggest for an unknown `--name`, with its dashes, or
 * undefined when none is close enough to be a likely typo.
 *
 * @example
 * ```ts
 * suggestOption('--histroy', ['history', 'host', 'port']); // '--history'
 * suggestOption('--frobnicate', ['history', 'host', 'port']); // undefined
 * ```
 */
export function suggestOption(typed: string, known: readonly string[]): string | undefined {
  if (!typed.startsWith('--')) return undefined;
  const name = typed.slice(2).split('=')[0]!.toLowerCase();
  if (name === '') return undefined;
  const starting = known.filter((option) => option.startsWith(name));
  if (starting.length === 1) return `--${starting[0]!}`;
  const limit = name.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const option of known) {
    const d = editDistance(name, option);
    if (d < bestDistance) {
      best = option;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance) tie = true;
  }
  return best !== undefined && bestDistance <= limit && !tie ? `--${best}` : undefined;
}
