/**
 * P, push dispatch: jobs of a task bound to an endpoint group, pushed to one local endpoint (a
 * process of its own) that answers every POST at once.
 * - P1 throughput: 5,000 jobs queued, then drained by the group's dispatcher (group cap 50).
 * - P2 dispatch latency: 100 jobs/s for 10 s to an idle dispatcher; enqueue → the endpoint has
 *   the request (its clock is this machine's).
 * Rounds interleaved; medians. The store's time per method says what limits them.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../src/core/logger.js';
import { Offload } from '../src/index.js';
import type { FreshStore, Percentiles, WorkloadResult } from './workloads.js';
import { percentiles } from './workloads.js';

const TASK = 'bench.pushed';
const SECRET = 'bench-secret-of-enough-length';

async function startEndpoint(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./push-endpoint.js', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = /listening (\d+)/.exec(line.toString())![1];
  return {
    url: `http://127.0.0.1:${port}/push`,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function openPushed(fresh: FreshStore, label: string, endpointUrl: string) {
  const store = await fresh(label);
  const offload = await Offload.open({ store: store.url, logger: silentLogger });
  await offload.push.saveGroup({
    name: 'bench',
    tasks: [TASK],
    secret: SECRET,
    concurrency: 50,
    endpoints: [{ url: endpointUrl }],
    allowAddresses: ['127.0.0.1'],
    taskSettings: { maxAttempts: 1, retention: 3_600_000 },
  });
  let succeeded = 0;
  const waiting: { n: number; resolve(): void }[] = [];
  offload.on('job:succeeded', () => {
    succeeded++;
    for (const w of waiting.filter((w) => succeeded >= w.n)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  });
  const recorded = (n: number) => (succeeded >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve })));
  return {
    offload,
    recorded,
    close: async () => {
      await offload.close();
      await store.dispose();
    },
  };
}

async function throughput(fresh: FreshStore, label: string, url: string, jobs: number): Promise<{ result: WorkloadResult; storeMs: Record<string, number> }> {
  const p = await openPushed(fresh, label, url);
  for (let i = 0; i < jobs; i += 1000)
    await p.offload.enqueueMany(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ task: TASK, input: { i: i + k } })));
  const started = performance.now();
  await p.offload.push.start({ callbackBaseUrl: null });
  await p.recorded(jobs);
  const seconds = (performance.now() - started) / 1000;
  const storeMs = storeTimes(p.offload);
  await p.close();
  return {
    result: { name: 'P1 push drain, 1 endpoint answering at once, group cap 50', jobs, seconds: round(seconds), jobsPerSecond: Math.round(jobs / seconds) },
    storeMs,
  };
}

async function latency(fresh: FreshStore, label: string, url: string, perSecond: number, seconds: number): Promise<WorkloadResult> {
  const p = await openPushed(fresh, label, url);
  await p.offload.push.start({ callbackBaseUrl: null });
  const total = perSecond * seconds;
  const handles = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = Date.now();
    handles.push({ at, job: await p.offload.enqueue(TASK, { i }) });
  }
  await p.recorded(total);
  const samples = await Promise.all(handles.map(async (h) => ((await h.job.result()) as { arrivedAt: number }).arrivedAt - h.at));
  await p.close();
  return {
    name: `P2 dispatch latency, ${perSecond} jobs/s to an idle dispatcher, enqueue → endpoint`,
    jobs: total,
    seconds,
    jobsPerSecond: perSecond,
    latencyMs: percentiles(samples),
  };
}

export interface PushBenchResult {
  results: WorkloadResult[];
  /** Of the median P1 round: ms in each store method during the drain, largest first. */
  storeMs: Record<string, number>;
}

export async function pushBench(fresh: FreshStore, rounds = 3, jobs = 5000): Promise<PushBenchResult> {
  const endpoint = await startEndpoint();
  try {
    const drains: { result: WorkloadResult; storeMs: Record<string, number> }[] = [];
    const lat: WorkloadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      drains.push(await throughput(fresh, `p1-${r}`, endpoint.url, jobs));
      lat.push(await latency(fresh, `p2-${r}`, endpoint.url, 100, 10));
    }
    drains.sort((a, b) => a.result.jobsPerSecond - b.result.jobsPerSecond);
    const mid = drains[Math.floor(drains.length / 2)];
    lat.sort((a, b) => a.latencyMs!.p50 - b.latencyMs!.p50);
    const midLat = lat[Math.floor(lat.length / 2)];
    return {
      results: [
        { ...mid.result, name: `${mid.result.name} (median of ${rounds}: ${drains.map((d) => d.result.jobsPerSecond).join(', ')})` },
        { ...midLat, name: `${midLat.name} (median p50 of ${rounds}: ${lat.map((l) => (l.latencyMs as Percentiles).p50).join(', ')})` },
      ],
      storeMs: mid.storeMs,
    };
  } finally {
    await endpoint.stop();
  }
}

function storeTimes(offload: Offload): Record<string, number> {
  const stats = (offload.store as unknown as { stats: Map<string, { calls: number; totalMs: number }> }).stats;
  return Object.fromEntries(
    [...stats.entries()]
      .sort((a, b) => b[1].totalMs - a[1].totalMs)
      .slice(0, 8)
      .map(([m, s]) => [`${m} (${s.calls} calls)`, Math.round(s.totalMs)]),
  );
}

const round = (x: number) => Math.round(x * 100) / 100;
