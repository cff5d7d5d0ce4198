/**
 * `npm run bench [-- --store URL] [--only W1,W3,H1,G] [--synchronous full|off] [--no-peers]`
 *
 * - W1–W5, the core workloads, on Offload; on PostgreSQL also on graphile-worker (defaults, and
 *   batched: local queue, batched completions) and pg-boss
 *   (bench/peers/), on the same server in the same run, side by side with ratios, and the bare-pg
 *   ceiling measured first. Written to bench/results/<store>-latest.json.
 * - H1–H2, the HTTP API on loopback, and A1–A3, agents draining jobs over HTTP (a TS worker with
 *   --connect, the Python agent, the Java agent), on SQLite. Written with the core workloads.
 * - F, flow control's cost: the W3 drain plain, under a rate limit that never binds, and with
 *   1,000 schedules defined, interleaved, on the --store given.
 * - D, dependencies' cost: a flow of 10,000 jobs (100 stages of 100, fan-out and fan-in, 19,701
 *   edges) drained against 10,000 independent jobs, at concurrency 10 and 100, interleaved, on the
 *   --store given; with BENCH_D_SHAPES=1 also its two calls timed one at a time against plain ones.
 * - P, push dispatch: throughput and enqueue→endpoint latency against a local endpoint that
 *   answers at once, on the --store given. Written to bench/results/<store>-push-latest.json.
 * - O, the dashboard's reads over 1,000,000 jobs (20 tasks, every state): the overview (GET
 *   /v1/tasks + GET /v1/throughput) and a filtered job list with its next page, through the HTTP
 *   API on a real socket, on the --store given; only with --only O (it fills a million rows).
 *   Written to bench/results/<store>-overview-latest.json.
 * - C, what the counters cost the hot path: the store's turns of 10 outcomes + 10 claims draining
 *   20,000 jobs with the counters' triggers and without them, interleaved, on the --store given;
 *   only with --only C. Written to bench/results/<store>-counters-latest.json.
 * - G, the Gearman part: the same PHP clients and workers against gearmand and against Offload
 *   (SQLite, in-memory SQLite, PostgreSQL at --gearman-postgres); --gearman-servers picks some;
 *   --gearman-cli runs another build's `offload` as the server (to compare builds with one harness).
 *   Written to bench/results/gearman-latest.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { a1RemoteWorker, a2PythonAgent, a3JavaAgent } from './agent-workloads.js';
import { type Ceiling, measureCeiling } from './ceiling.js';
import { counterCostBench } from './counter-cost.js';
import { dependencyShapes } from './dependency-shapes.js';
import { dependencyBench } from './dependency-workloads.js';
import { flowBench } from './flow-workloads.js';
import { type GearmanResult, gearmanBench, gearmanBenchUnavailable, postgresReachable, type ServerName } from './gearman.js';
import { h1HttpSubmits, h2HttpRoundTrips } from './http-workloads.js';
import { type OffloadQueueOptions, offloadQueue as openOffloadQueue } from './offload-queue.js';
import { overviewBench } from './overview-workloads.js';
import { graphileQueue } from './peers/graphile-worker.js';
import { pgBossQueue } from './peers/pg-boss.js';
import { dropSchema } from './peers/postgres.js';
import { pushBench } from './push-workloads.js';
import { printTable } from './report.js';
import { measureSqliteCeiling, type SqliteCeiling } from './sqlite-ceiling.js';
import { type FreshStore, type QueueFactory, WORKLOADS, type WorkloadName, type WorkloadResult } from './workloads.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
    synchronous: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
    'gearman-clients': { type: 'string', default: '10' },
    'gearman-workers': { type: 'string', default: '10' },
    'gearman-jobs': { type: 'string', default: '2000' },
    'gearman-backlog': { type: 'string', default: '20000' },
    'gearman-servers': { type: 'string' },
    profile: { type: 'string' },
    'gearman-cli': { type: 'string' },
    'gearman-postgres': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});

/** Workloads that run against a whole server on a fresh SQLite file; undefined when their runtime is missing. */
const SERVER_WORKLOADS: Record<string, (fresh: FreshStore) => Promise<WorkloadResult | undefined>> = {
  H1: (f) => h1HttpSubmits(f),
  H2: (f) => h2HttpRoundTrips(f),
  A1: (f) => a1RemoteWorker(f),
  A2: (f) => a2PythonAgent(f),
  A3: (f) => a3JavaAgent(f),
};

function sqliteFresh(synchronous?: string): FreshStore {
  return async (label) => {
    const dir = mkdtempSync(join(tmpdir(), `offload-bench-${label}-`));
    const query = synchronous ? `?synchronous=${synchronous}` : '';
    return { url: `sqlite:${join(dir, 'bench.db')}${query}`, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  };
}

function sqliteOffload(synchronous?: string) {
  const fresh = sqliteFresh(synchronous);
  return async (label: string, opts?: OffloadQueueOptions) => {
    const store = await fresh(label);
    return openOffloadQueue(store.url, store.dispose, opts);
  };
}

/** A schema of its own per workload on the given server, dropped on dispose. */
function postgresFresh(serverUrl: string): FreshStore {
  return async (label) => {
    const schema = `offload_bench_${label}_${process.pid}`.replace(/[^a-z0-9_]/gi, '_');
    const url = new URL(serverUrl);
    url.searchParams.set('schema', schema);
    await dropSchema(serverUrl, schema);
    return { url: url.toString(), dispose: () => dropSchema(serverUrl, schema) };
  };
}

/** A schema of its own per workload on the given server, dropped afterwards. */
function postgresOffload(serverUrl: string, synchronousCommit?: string) {
  return async (label: string, opts?: OffloadQueueOptions) => {
    const schema = `offload_bench_${label}_${process.pid}`.replace(/[^a-z0-9_]/gi, '_');
    const url = new URL(serverUrl);
    url.searchParams.set('schema', schema);
    if (synchronousCommit) url.searchParams.set('synchronousCommit', synchronousCommit);
    await dropSchema(serverUrl, schema);
    return openOffloadQueue(url.toString(), () => dropSchema(serverUrl, schema), opts);
  };
}

async function runAll(system: string, open: QueueFactory, names: WorkloadName[], sizes: Partial<Record<WorkloadName, number>> = {}): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  for (const name of names) {
    const r = await WORKLOADS[name](open, sizes[name]);
    results.push(r);
    print(system, r);
  }
  return results;
}

async function main(): Promise<void> {
  // Some peers unref all their timers: keep the process alive while a workload waits on them.
  const keepAlive = setInterval(() => undefined, 60_000);
  const postgres = values.store!.startsWith('postgres');
  const known = [...Object.keys(WORKLOADS), ...Object.keys(SERVER_WORKLOADS), 'F', 'D', 'P', 'G', 'O', 'C'];
  const only = values.only ? values.only.split(',') : postgres ? [...Object.keys(WORKLOADS), 'F', 'D', 'P'] : known.filter((n) => n !== 'O' && n !== 'C');
  for (const n of only) if (!known.includes(n)) throw new Error(`unknown workload ${n}; known: ${known.join(', ')}`);
  const core = only.filter((n): n is WorkloadName => n in WORKLOADS);
  const server = only.filter((n) => n in SERVER_WORKLOADS);
  if (postgres && (server.length || only.includes('G'))) throw new Error('H and G workloads run on SQLite only; leave out --store');
  const label = `${postgres ? 'postgres' : 'sqlite'}${values.synchronous ? `-sync-${values.synchronous}` : ''}`;
  const loadBefore = loadavg()[0];

  let ceiling: Ceiling | undefined;
  if (postgres) {
    ceiling = await measureCeiling(values.store!);
    console.log(
      `bare pg now: ${ceiling.insertsPerSecond} awaited single INSERTs/s (${ceiling.commitMs} ms per durable commit), SELECT 1 round trip ${ceiling.roundTripMs} ms, load average ${loadBefore.toFixed(1)}`,
    );
  }
  let sqliteCeiling: SqliteCeiling | undefined;
  if (!postgres && core.length) {
    sqliteCeiling = measureSqliteCeiling(values.synchronous === 'full' ? 'full' : 'normal');
    console.log(
      `bare better-sqlite3 now, Offload's schema: ${sqliteCeiling.insertsPerSecond} single INSERTs/s, ${sqliteCeiling.claimCompletesPerSecond} claim+complete/s (turns of 10), load average ${loadBefore.toFixed(1)}`,
    );
  }

  const systems: Record<string, WorkloadResult[]> = {};
  const offloadQueue = postgres ? postgresOffload(values.store!, values.synchronous) : sqliteOffload(values.synchronous);
  systems.offload = await runAll('offload', offloadQueue, core);
  let flowRatios: Record<string, number> | undefined;
  if (only.includes('F')) {
    const flow = await flowBench(offloadQueue);
    for (const r of flow.results) print('offload', r);
    flowRatios = flow.ratios;
    console.log(
      `flow control / plain drain (aim: ≥ 0.9): ${Object.entries(flow.ratios)
        .map(([n, x]) => `${n} ${x.toFixed(2)}×`)
        .join('  ')}`,
    );
    systems.offload.push(...flow.results);
  }
  let dependencies: Awaited<ReturnType<typeof dependencyBench>> | undefined;
  if (only.includes('D')) {
    const chosen = process.env.BENCH_D_CONCURRENCY;
    if (chosen !== undefined && !/^[1-9][0-9]*$/.test(chosen))
      throw new Error(`BENCH_D_CONCURRENCY must be a positive integer (got "${chosen}"): unset it to measure at 10 and 100`);
    const concurrencies = chosen ? [Number(chosen)] : [10, 100];
    dependencies = await dependencyBench(offloadQueue, 5, 100, 100, concurrencies);
    for (const r of dependencies.results) print('offload', r);
    for (const [c, d] of Object.entries(dependencies.byConcurrency)) {
      console.log(
        `flow drain / plain drain at concurrency ${c} (aim: ≥ 0.5): ${d.ratio.toFixed(2)}×; submit (median): plain ${d.submitSeconds.D0} s (chunks of 1,000), flow ${d.submitSeconds.D1} s (one call)`,
      );
      for (const key of ['D0', 'D1'] as const)
        console.log(
          `  store ms during the ${key} drain: ${Object.entries(d.storeMs[key])
            .slice(0, 6)
            .map(([m, t]) => `${m} ${t}`)
            .join(', ')}`,
        );
    }
    systems.offload.push(...dependencies.results);
    const shapes = process.env.BENCH_D_SHAPES ? await dependencyShapes(offloadQueue) : undefined;
    if (shapes) {
      const m = shapes.medianMs;
      console.log(
        `  one call at a time (ms, medians): A ${m.A} against plain ${m.pA} (${shapes.ratio.A}×), B ${m.B} against plain ${m.pB} (${shapes.ratio.B}×)`,
      );
    }
    // Also a file of its own, which a run of other workloads leaves alone.
    write(`${label}-dependencies-latest.json`, {
      store: label,
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] },
      results: dependencies.results,
      edges: dependencies.edges,
      byConcurrency: dependencies.byConcurrency,
      ...(shapes ? { oneCallAtATime: shapes } : {}),
    });
  }
  if (only.includes('P')) {
    const push = await pushBench(postgres ? postgresFresh(values.store!) : sqliteFresh(values.synchronous));
    for (const r of push.results) print('offload', r);
    console.log(
      `  store ms during the median P1 drain: ${Object.entries(push.storeMs)
        .map(([m, t]) => `${m} ${t}`)
        .join(', ')}`,
    );
    systems.offload.push(...push.results);
    write(`${label}-push-latest.json`, {
      store: label,
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] },
      results: push.results,
      storeMs: push.storeMs,
    });
  }
  if (only.includes('O')) {
    const o = await overviewBench(postgres ? postgresFresh(values.store!) : sqliteFresh(values.synchronous));
    console.log(
      `O: ${o.jobs.toLocaleString('en')} jobs filled in ${o.fillSeconds} s (bench-only bulk SQL); count(*) per task and state, what a count cost before the counters: ${o.countRowsMs} ms`,
    );
    console.log(`  plan of the filtered list: ${o.listPlan.join(' | ')}`);
    for (const r of o.results) {
      const l = r.latencyMs!;
      console.log(
        `offload          ${r.name.padEnd(82)} median ${String(l.p50).padStart(7)} ms  p95 ${String(l.p95).padStart(7)} ms  max ${l.max} ms (${r.jobs} requests)`,
      );
    }
    write(`${label}-overview-latest.json`, {
      store: label,
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] },
      ...o,
    });
  }
  if (only.includes('C')) {
    const c = await counterCostBench(postgres ? postgresFresh(values.store!) : sqliteFresh(values.synchronous));
    for (const r of c.results) print('offload', r);
    console.log(`with the counters / without (1 = free): ${c.ratio.toFixed(2)}×`);
    write(`${label}-counters-latest.json`, {
      store: label,
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] },
      ...c,
    });
  }
  for (const name of server) {
    const r = await SERVER_WORKLOADS[name](sqliteFresh(values.synchronous));
    if (!r) {
      console.log(`${name} skipped: its runtime (python3 or a JDK) is not installed`);
      continue;
    }
    systems.offload.push(r);
    print('offload', r);
  }
  if (postgres && !values['no-peers'] && core.length) {
    systems['graphile-worker'] = await runAll('graphile-worker', (l) => graphileQueue(values.store!, l), core);
    systems['graphile-worker batched'] = await runAll('graphile batched', (l) => graphileQueue(values.store!, l, true), core);
    // pg-boss's workers poll (at most every 0.5 s, a batch of 10 each time): about 20 jobs/s, so
    // its drain is measured on 500 jobs rather than 20,000 (17 minutes).
    systems['pg-boss'] = await runAll(
      'pg-boss',
      (l) => pgBossQueue(values.store!, l),
      core.filter((n) => n !== 'W5'),
      { W3: 500 },
    );
    console.log();
    printTable(systems);
  }

  if (systems.offload.length) {
    write(`${label}-latest.json`, {
      store: label,
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] },
      ...(ceiling ? { barePg: ceiling } : {}),
      ...(sqliteCeiling ? { bareSqlite: sqliteCeiling } : {}),
      results: systems.offload,
      ...(flowRatios ? { flowControlToPlain: flowRatios } : {}),
      ...(dependencies
        ? {
            dependencies: { edges: dependencies.edges, byConcurrency: dependencies.byConcurrency },
          }
        : {}),
      ...(Object.keys(systems).length > 1 ? { peers: Object.fromEntries(Object.entries(systems).filter(([k]) => k !== 'offload')) } : {}),
    });
  }
  if (only.includes('G')) await gearman();
  clearInterval(keepAlive);
}

/** The Gearman part: one run against gearmand, one against Offload, the same PHP processes. */
async function gearman(): Promise<void> {
  const unavailable = gearmanBenchUnavailable();
  if (unavailable) {
    console.log(`\nGearman part skipped: it ${unavailable}`);
    return;
  }
  const postgresUrl = values['gearman-postgres'] || undefined;
  const withPostgres = postgresUrl !== undefined && (await postgresReachable(postgresUrl));
  if (postgresUrl && !withPostgres)
    console.log(`\nGearman on PostgreSQL left out: nothing answers at ${postgresUrl} (--gearman-postgres '' to leave it out quietly)`);
  const opts = {
    clients: Number(values['gearman-clients']),
    workers: Number(values['gearman-workers']),
    foregroundPerClient: Number(values['gearman-jobs']),
    backgroundPerClient: Number(values['gearman-jobs']) * 2,
    backlog: Number(values['gearman-backlog']),
    postgresUrl: withPostgres ? postgresUrl : undefined,
    profileDir: values.profile,
    cli: values['gearman-cli'],
    servers: values['gearman-servers']?.split(',') as ServerName[] | undefined,
  };
  console.log(
    `\nGearman: PHP clients and workers against gearmand (in memory) and Offload (every job stored); load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const loadBefore = loadavg();
  const results = await gearmanBench(opts, printGearman);
  const ratios: Record<string, Record<string, number>> = {};
  for (const r of results) {
    if (r.server === 'gearmand' || r.name.startsWith('G6')) continue;
    const peer = results.find((g) => g.server === 'gearmand' && g.name === r.name);
    if (!peer) continue;
    (ratios[r.server] ??= {})[r.name.slice(0, 2)] = Math.round((r.jobsPerSecond / peer.jobsPerSecond) * 100) / 100;
  }
  console.log('\nOffload / gearmand, jobs/s (aims: G2 ≥ 0.8; G4 ≥ 0.8; G5 ≥ 0.8 on SQLite, ≥ 0.4 on PostgreSQL):');
  for (const [server, byName] of Object.entries(ratios)) {
    console.log(
      `  ${server.padEnd(18)} ${Object.entries(byName)
        .map(([n, x]) => `${n} ${x.toFixed(2)}×`)
        .join('  ')}`,
    );
  }
  write('gearman-latest.json', {
    at: new Date().toISOString(),
    machine: machine(),
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadavg(),
    options: opts,
    results,
    offloadToGearmand: ratios,
  });
}

function machine() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
}

function write(file: string, report: unknown): void {
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(file, dir), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to bench/results/${file}`);
}

function printGearman(r: GearmanResult): void {
  const lat = `latency ms p50 ${r.latencyMs.p50} p99 ${r.latencyMs.p99} max ${r.latencyMs.max}`;
  const cpu = r.serverCpuUsPerJob === null ? '' : `  server CPU ${r.serverCpuUsPerJob} µs/job`;
  console.log(`${`${r.name} [${r.server}]`.padEnd(82)} ${String(r.jobsPerSecond).padStart(8)} jobs/s  ${lat}${cpu}`);
}

function print(system: string, r: WorkloadResult): void {
  const lat = r.latencyMs ? `  latency ms p50 ${r.latencyMs.p50} p95 ${r.latencyMs.p95} p99 ${r.latencyMs.p99} max ${r.latencyMs.max}` : '';
  const rss = r.peakRssMb ? `  peak RSS ${r.peakRssMb} MB` : '';
  console.log(`${system.padEnd(16)} ${r.name.padEnd(62)} ${String(r.jobsPerSecond).padStart(8)} jobs/s${lat}${rss}`);
}

await main();
