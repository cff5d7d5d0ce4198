/** Hand-made SVG: bars per minute for the overview, a layered graph of a flow's steps. */
import type { JSX } from 'preact';

export interface MinutePoint {
  minute: string;
  value: number;
}

/** One bar per minute, the newest on the right; a title on each bar gives the exact figure. */
export function MinuteBars({ points, label, kind }: { points: MinutePoint[]; label: string; kind: 'ok' | 'bad' }): JSX.Element {
  const width = 600;
  const height = 120;
  const max = Math.max(1, ...points.map((p) => p.value));
  const w = points.length > 0 ? width / points.length : width;
  const total = points.reduce((s, p) => s + p.value, 0);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height + 16}`}
        role="img"
        aria-label={`${label} per minute: ${total} in the last ${points.length} minutes`}
        preserveAspectRatio="none"
      >
        {points.map((p, i) => {
          const h = (p.value / max) * height;
          return (
            <rect key={p.minute} class={`bar-${kind}`} x={i * w + 1} y={height - h} width={Math.max(1, w - 2)} height={h}>
              <title>{`${new Date(p.minute).toLocaleTimeString(undefined, { hour12: false, hour: '2-digit', minute: '2-digit' })}: ${p.value}`}</title>
            </rect>
          );
        })}
        <line x1={0} y1={height} x2={width} y2={height} class="axis" />
        <text x={0} y={height + 14} class="tick">
          {points.length} min ago
        </text>
        <text x={width} y={height + 14} class="tick" text-anchor="end">
          now
        </text>
        <text x={2} y={12} class="tick">
          max {max}/min
        </text>
      </svg>
      <figcaption>
        {label} per minute; {total} in the last {points.length} minutes
      </figcaption>
    </figure>
  );
}

export interface GraphStep {
  step: string;
  id: string;
  task: string;
  state: string;
  after: string[];
}

/** Each step in the column after the deepest step it waits for; edges from left to right. */
export function FlowGraph({ steps, href }: { steps: GraphStep[]; href: (s: GraphStep) => string }): JSX.Element {
  const byName = new Map(steps.map((s) => [s.step, s]));
  const depth = new Map<string, number>();
  const depthOf = (s: GraphStep, seen: Set<string>): number => {
    const known = depth.get(s.step);
    if (known !== undefined) return known;
    if (seen.has(s.step)) return 0;
    seen.add(s.step);
    let d = 0;
    for (const a of s.after) {
      const parent = byName.get(a);
      if (parent) d = Math.max(d, depthOf(parent, seen) + 1);
    }
    depth.set(s.step, d);
    return d;
  };
  const columns: GraphStep[][] = [];
  for (const s of steps) {
    const column = depthOf(s, new Set());
    columns[column] ??= [];
    columns[column].push(s);
  }
  const boxW = 150;
  const boxH = 40;
  const gapX = 60;
  const gapY = 16;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [c, col] of columns.entries()) {
    for (const [r, s] of (col ?? []).entries()) pos.set(s.step, { x: c * (boxW + gapX), y: r * (boxH + gapY) });
  }
  const width = Math.max(1, columns.length) * (boxW + gapX) - gapX;
  const height = Math.max(1, ...columns.map((c) => c?.length ?? 0)) * (boxH + gapY) - gapY;
  return (
    <div class="scroll">
      <svg
        class="graph"
        width={width + 4}
        height={height + 4}
        viewBox={`-2 -2 ${width + 4} ${height + 4}`}
        role="img"
        aria-label={`graph of ${steps.length} steps`}
      >
        {steps.flatMap((s) =>
          s.after
            .filter((a) => pos.has(a))
            .map((a) => {
              const from = pos.get(a)!;
              const to = pos.get(s.step)!;
              const x1 = from.x + boxW;
              const y1 = from.y + boxH / 2;
              const x2 = to.x;
              const y2 = to.y + boxH / 2;
              const mid = (x1 + x2) / 2;
              return <path key={`${a}->${s.step}`} class="edge" d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />;
            }),
        )}
        {steps.map((s) => {
          const p = pos.get(s.step)!;
          return (
            <a key={s.step} href={href(s)}>
              <rect class={`node state-${s.state}`} x={p.x} y={p.y} width={boxW} height={boxH} rx={6} />
              <text x={p.x + 8} y={p.y + 17} class="node-name">
                {s.step.length > 20 ? `${s.step.slice(0, 19)}…` : s.step}
              </text>
              <text x={p.x + 8} y={p.y + 32} class="node-state">
                {s.state}
              </text>
              <title>{`${s.step} (${s.task}): ${s.state}`}</title>
            </a>
          );
        })}
      </svg>
    </div>
  );
}
