/**
 * `npm run bench [-- --store URL] [--only W1,W3] [--synchronous full|off] [--no-peers]`: runs the
 * workloads on Offload, prints a table, and writes the figures to bench/results/<store>-latest.json.
 * On PostgreSQL it also runs the same workloads on graphile-worker and pg-boss (bench/peers/), on
 * the same server in the same run, and prints them side by side with ratios.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Ceiling, measureCeiling } from './ceiling.js';
import { offloadQueue } from './offload-queue.js';
import { graphileQueue } from './peers/graphile-worker.js';
import { pgBossQueue } from './peers/pg-boss.js';
import { dropSchema } from './peers/postgres.js';
import { printTable } from './report.js';
import { type QueueFactory, type WorkloadName, type WorkloadResult, WORKLOADS } from './workloads.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
    synchronous: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
  },
});

/** A fresh SQLite file per workload, in a temporary directory. */
function sqliteOffload(synchronous?: string): QueueFactory {
  return async (label) => {
    const dir = mkdtempSync(join(tmpdir(), `offload-bench-${label}-`));
    const query = synchronous ? `?synchronous=${synchronous}` : '';
    return offloadQueue(`sqlite:${join(dir, 'bench.db')}${query}`, async () => rmSync(dir, { recursive: true, force: true }));
  };
}

/** A schema of its own per workload on the given server, dropped afterwards. */
function postgresOffload(serverUrl: string, synchronousCommit?: string): QueueFactory {
  return async (label) => {
    const schema = `offload_bench_${label}_${process.pid}`;
    const url = new URL(serverUrl);
    url.searchParams.set('schema', schema);
    if (synchronousCommit) url.searchParams.set('synchronousCommit', synchronousCommit);
    await dropSchema(serverUrl, schema);
    return offloadQueue(url.toString(), () => dropSchema(serverUrl, schema));
  };
}

async function runAll(system: string, open: QueueFactory, names: WorkloadName[], sizes: Partial<Record<WorkloadName, number>> = {}): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  for (const name of names) {
    const r = await WORKLOADS[name](open, sizes[name]);
    results.push(r);
    const lat = r.latencyMs ? `  latency ms p50 ${r.latencyMs.p50} p95 ${r.latencyMs.p95} p99 ${r.latencyMs.p99} max ${r.latencyMs.max}` : '';
    const rss = r.peakRssMb ? `  peak RSS ${r.peakRssMb} MB` : '';
    console.log(`${system.padEnd(16)} ${r.name.padEnd(62)} ${String(r.jobsPerSecond).padStart(8)} jobs/s${lat}${rss}`);
  }
  return results;
}

async function main(): Promise<void> {
  // Some peers unref all their timers: keep the process alive while a workload waits on them.
  const keepAlive = setInterval(() => undefined, 60_000);
  const postgres = values.store!.startsWith('postgres');
  const names = (values.only ? values.only.split(',') : Object.keys(WORKLOADS)) as WorkloadName[];
  for (const n of names) if (!(n in WORKLOADS)) throw new Error(`unknown workload ${n}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  const label = `${postgres ? 'postgres' : 'sqlite'}${values.synchronous ? `-sync-${values.synchronous}` : ''}`;
  const loadBefore = loadavg()[0];

  let ceiling: Ceiling | undefined;
  if (postgres) {
    ceiling = await measureCeiling(values.store!);
    console.log(`bare pg now: ${ceiling.insertsPerSecond} awaited single INSERTs/s (${ceiling.commitMs} ms per durable commit), SELECT 1 round trip ${ceiling.roundTripMs} ms, load average ${loadBefore.toFixed(1)}`);
  }

  const systems: Record<string, WorkloadResult[]> = {};
  systems.offload = await runAll('offload', postgres ? postgresOffload(values.store!, values.synchronous) : sqliteOffload(values.synchronous), names);
  if (postgres && !values['no-peers']) {
    systems['graphile-worker'] = await runAll('graphile-worker', (l) => graphileQueue(values.store!, l), names);
    // pg-boss's workers poll (at most every 0.5 s, a batch of 10 each time): about 20 jobs/s, so
    // its drain is measured on 500 jobs rather than 20,000 (17 minutes).
    systems['pg-boss'] = await runAll('pg-boss', (l) => pgBossQueue(values.store!, l), names, { W3: 500 });
    console.log();
    printTable(systems);
  }

  const report = {
    store: label,
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] },
    ...(ceiling ? { barePg: ceiling } : {}),
    results: systems.offload,
    ...(Object.keys(systems).length > 1 ? { peers: Object.fromEntries(Object.entries(systems).filter(([k]) => k !== 'offload')) } : {}),
  };
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${label}-latest.json`, dir), JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten to bench/results/${label}-latest.json`);
  clearInterval(keepAlive);
}

await main();
