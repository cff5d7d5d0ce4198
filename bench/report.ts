import type { WorkloadResult } from './workloads.js';

/** The headline figure of a workload: jobs/s, or the p99 latency for W4 (lower is better). */
function figure(r: WorkloadResult): { value: number; text: string; higherIsBetter: boolean } {
  if (r.name.startsWith('W4') && r.latencyMs) return { value: r.latencyMs.p99, text: `p99 ${r.latencyMs.p99.toFixed(1)} ms`, higherIsBetter: false };
  return { value: r.jobsPerSecond, text: `${r.jobsPerSecond.toLocaleString('en-US')}/s`, higherIsBetter: true };
}

/** Prints one row per workload: Offload, then each peer with "Offload is N× better" ratios. */
export function printTable(systems: Record<string, WorkloadResult[]>): void {
  const names = Object.keys(systems);
  const ours = systems.offload;
  const header = ['workload', ...names.flatMap((n) => (n === 'offload' ? [n] : [n, 'offload ÷'])), ''];
  const key = (r: WorkloadResult) => r.name.split(' ')[0];
  const rows = ours.map((r) => {
    const mine = figure(r);
    const cells = [key(r), mine.text];
    for (const n of names.filter((x) => x !== 'offload')) {
      const peer = systems[n].find((p) => key(p) === key(r));
      const theirs = peer ? figure(peer) : undefined;
      const ratio = theirs && theirs.value > 0 && mine.value > 0 ? (mine.higherIsBetter ? mine.value / theirs.value : theirs.value / mine.value) : NaN;
      cells.push(theirs?.text ?? 'n/a', Number.isFinite(ratio) ? `${ratio.toFixed(1)}×` : 'n/a');
    }
    return cells;
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((x, c) => (x ?? '').padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log('(ratios: how many times better Offload is; W4 compares p99 latency, lower is better)');
}
