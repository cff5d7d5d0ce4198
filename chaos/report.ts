import type { ScenarioResult } from './scenario.js';

const n = (v: number | null, unit = ''): string => (v === null ? 'n/a' : `${v.toLocaleString('en-US')}${unit}`);

/** One row per scenario: what was lost or repeated, and how the work went before, during and after. */
export function printResults(results: ScenarioResult[]): void {
  const header = [
    'scenario',
    'store',
    'acked',
    'lost',
    'unfinished',
    'dup',
    'ran again (unexplained)',
    'stale',
    'recover',
    'jobs/s base/during/after',
    'wait p99 during/after',
    'max e2e',
    'dead tuples peak/end',
    'retried submits',
  ];
  const rows = results.map((r) => [
    r.scenario,
    r.store,
    n(r.acked),
    n(r.lost),
    n(r.unfinished),
    n(r.duplicateSubmits),
    `${r.ranAgain} (${r.ranAgainUnexplained})`,
    n(r.staleCompletes),
    n(r.recoverySeconds, ' s'),
    `${n(r.baselinePerSecond)} / ${n(r.duringPerSecond)} / ${n(r.afterPerSecond)}`,
    `${n(r.waitP99DuringMs, ' ms')} / ${n(r.waitP99AfterMs, ' ms')}`,
    n(r.endToEndMaxMs, ' ms'),
    r.deadTuplesPeak === null ? 'n/a' : `${n(r.deadTuplesPeak)} / ${n(r.deadTuplesEnd)}`,
    Object.entries(r.submitRetries)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '0',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((x, c) => x.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const r of results) {
    const kinds = Object.entries(r.runsByKind)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`  ${r.scenario}/${r.store}: runs by ${kinds}${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`);
  }
}
