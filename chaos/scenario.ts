/**
 * One chaos scenario from start to verdict: a fresh store, the cluster, the producer at a steady
 * rate, an undisturbed warm-up (the baseline), the fault, a while after it, the drain, the checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/open.js';
import { dropSchema, urlForSchema } from '../test/helpers/postgres.js';
import { completionsPerSecond, latencies, rate, readJobs, readRuns, recoverySeconds, type Verdict, verdict } from './checker.js';
import { Cluster } from './cluster.js';
import { jobTuples, SmallDisk, sleep, type TupleCounts } from './faults.js';
import { Producer } from './producer.js';
import { CHAOS_TASK } from './tasks.js';

export type StoreKind = 'postgres' | 'sqlite';

export interface ScenarioContext {
  cluster: Cluster;
  producer: Producer;
  /** PostgreSQL: the application_name every Offload connection of this scenario uses. */
  applicationName: string | undefined;
  /** SQLite on a small filesystem (scenarios that ask for one). */
  disk: SmallDisk | undefined;
  short: boolean;
  /** Facts for the report's notes column. */
  note(text: string): void;
}

export interface Scenario {
  name: string;
  store: StoreKind;
  /** What is done, for the report. */
  title: string;
  /** Jobs per second the producer offers throughout (default 200). */
  rate?: number;
  /** How long each handler runs (default 50 ms: 24 slots do 480 jobs/s, and a killed worker holds some). */
  handlerMs?: number;
  /** `offload worker` processes (default 2). */
  workers?: number;
  /** A filesystem of this many MB holds the SQLite store. */
  diskMb?: number;
  /** Does the damage; the "during" window lasts until it resolves. */
  fault(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioResult extends Verdict {
  scenario: string;
  store: StoreKind;
  title: string;
  offered: number;
  /** Completions per second: before the fault, while it lasted, after it (the producer still running). */
  baselinePerSecond: number | null;
  duringPerSecond: number | null;
  afterPerSecond: number | null;
  /** From the fault's end to the first second at 80% of the baseline. */
  recoverySeconds: number | null;
  faultSeconds: number;
  /** How long the slowest acknowledged job took from submit to success, and p99 of the wait to start (ms), during and after the fault. */
  endToEndMaxMs: number | null;
  waitP99DuringMs: number | null;
  waitP99AfterMs: number | null;
  /** PostgreSQL: dead tuples of the jobs table, the most seen during the fault and at the end. */
  deadTuplesPeak: number | null;
  deadTuplesEnd: number | null;
  /** Submit requests that failed and were sent again, by why. */
  submitRetries: Record<string, number>;
  drainSeconds: number;
  notes: string[];
}

export interface RunOptions {
  short: boolean;
  log?: (text: string) => void;
}

/** The drain gives up when the backlog has not shrunk for this long (what is left counts as unfinished). */
const DRAIN_STALL_MS = 30_000;

export async function runScenario(s: Scenario, opts: RunOptions): Promise<ScenarioResult> {
  const log = opts.log ?? (() => undefined);
  const warmupMs = opts.short ? 3000 : 6000;
  const afterMs = opts.short ? 4000 : 10_000;
  const runsDir = mkdtempSync(join(tmpdir(), `offload-chaos-${s.name}-`));
  const schema = `chaos_${s.name.replace(/-/g, '_')}_${process.pid}`;
  const applicationName = s.store === 'postgres' ? `offload_${schema}` : undefined;
  const disk = s.diskMb ? SmallDisk.mount(join(runsDir, 'disk'), s.diskMb) : undefined;
  const storeUrl = s.store === 'postgres' ? urlForSchema(schema, { application_name: applicationName! }) : `sqlite:${join(disk?.dir ?? runsDir, 'offload.db')}`;
  const notes: string[] = [];
  const tuples: { at: number; counts: TupleCounts }[] = [];
  let cluster: Cluster | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    if (s.store === 'postgres') await dropSchema(schema);
    log(`${s.name} (${s.store}): ${s.title}`);
    cluster = await Cluster.start({ storeUrl, runsDir, workers: s.workers });
    const producer = new Producer({ url: cluster.url, rate: s.rate ?? 200, handlerMs: s.handlerMs ?? 50, runId: `${schema}-${Date.now()}` });
    if (s.store === 'postgres') {
      sampler = setInterval(() => {
        void jobTuples(schema).then(
          (counts) => tuples.push({ at: Date.now(), counts }),
          () => undefined,
        );
      }, 1000);
    }
    const t0 = Date.now();
    producer.start();
    await sleep(warmupMs);
    const faultStart = Date.now() - t0;
    await s.fault({ cluster, producer, applicationName, disk, short: opts.short, note: (text) => notes.push(text) });
    const faultEnd = Date.now() - t0;
    log(`  fault over after ${((faultEnd - faultStart) / 1000).toFixed(1)} s`);
    await sleep(afterMs);
    const producerStop = Date.now() - t0;
    await producer.stop();
    const drainStart = Date.now();
    await drain(storeUrl);
    const drainSeconds = Math.round((Date.now() - drainStart) / 100) / 10;
    clearInterval(sampler);
    await cluster.stop();
    const seen = await readJobs(storeUrl);
    const runs = readRuns(runsDir);
    const v = verdict(
      producer.acked,
      seen,
      runs,
      cluster.logs().map((l) => l.text),
    );
    const buckets = completionsPerSecond(producer.acked, seen, t0);
    const baseline = rate(buckets, 1000, faultStart);
    const during = latencies(producer.acked, seen, t0, faultStart, faultEnd);
    const after = latencies(producer.acked, seen, t0, faultEnd, producerStop);
    const whole = latencies(producer.acked, seen, t0, 0, producerStop + 1);
    const inFault = tuples.filter((x) => x.at >= t0 + faultStart && x.at <= t0 + faultEnd + 1000);
    return {
      scenario: s.name,
      store: s.store,
      title: s.title,
      ...v,
      offered: producer.offered,
      baselinePerSecond: baseline,
      duringPerSecond: rate(buckets, faultStart, faultEnd),
      afterPerSecond: rate(buckets, faultEnd, producerStop),
      recoverySeconds: recoverySeconds(buckets, faultEnd, baseline),
      faultSeconds: Math.round((faultEnd - faultStart) / 100) / 10,
      endToEndMaxMs: whole.endToEndMax,
      waitP99DuringMs: during.waitP99,
      waitP99AfterMs: after.waitP99,
      deadTuplesPeak: inFault.length ? Math.max(...inFault.map((x) => x.counts.dead)) : null,
      deadTuplesEnd: tuples.length ? tuples[tuples.length - 1].counts.dead : null,
      submitRetries: Object.fromEntries(producer.failures),
      drainSeconds,
      notes,
    };
  } finally {
    clearInterval(sampler);
    await cluster?.stop().catch(() => undefined);
    if (s.store === 'postgres') await dropSchema(schema).catch(() => undefined);
    disk?.unmount();
    rmSync(runsDir, { recursive: true, force: true });
  }
}

/** Waits until no job is left queued or running, or the backlog stops shrinking for a while. */
async function drain(storeUrl: string): Promise<void> {
  const store = await openStore(storeUrl);
  try {
    let least = Number.POSITIVE_INFINITY;
    let shrankAt = Date.now();
    while (Date.now() - shrankAt < DRAIN_STALL_MS) {
      const rows = await store.countJobs({ task: CHAOS_TASK, states: ['queued', 'running'] }).catch(() => null);
      const left = rows?.reduce((n, r) => n + r.count, 0);
      if (left === 0) return;
      if (left !== undefined && left < least) {
        least = left;
        shrankAt = Date.now();
      }
      await sleep(250);
    }
  } finally {
    await store.close();
  }
}
