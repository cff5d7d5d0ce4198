/**
 * `npm run bench [-- --store URL] [--only W1,W3]`: runs the workloads, prints a table, and writes
 * the figures to bench/results/<store>-<timestamp>.json (and <store>-latest.json).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { h1HttpSubmits, h2HttpRoundTrips } from './http-workloads.js';
import { type FreshStore, type WorkloadResult, w1SingleEnqueues, w2ChunkedEnqueues, w3Drain, w4Latency } from './workloads.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
    synchronous: { type: 'string' },
  },
});

function sqliteFresh(synchronous?: string): FreshStore {
  return async (label) => {
    const dir = mkdtempSync(join(tmpdir(), `offload-bench-${label}-`));
    const query = synchronous ? `?synchronous=${synchronous}` : '';
    return { url: `sqlite:${join(dir, 'bench.db')}${query}`, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  };
}

const workloads: Record<string, (fresh: FreshStore) => Promise<WorkloadResult>> = {
  W1: (f) => w1SingleEnqueues(f),
  W2: (f) => w2ChunkedEnqueues(f),
  W3: (f) => w3Drain(f),
  W4: (f) => w4Latency(f),
  H1: (f) => h1HttpSubmits(f),
  H2: (f) => h2HttpRoundTrips(f),
};

async function main(): Promise<void> {
  const storeKind = values.store!.startsWith('postgres') ? 'postgres' : 'sqlite';
  if (storeKind !== 'sqlite') throw new Error('only the SQLite store is benchmarked by this version; pass --store sqlite');
  const fresh = sqliteFresh(values.synchronous);
  const only = values.only ? values.only.split(',') : Object.keys(workloads);
  const results: WorkloadResult[] = [];
  for (const name of only) {
    const run = workloads[name];
    if (!run) throw new Error(`unknown workload ${name}; known: ${Object.keys(workloads).join(', ')}`);
    const r = await run(fresh);
    results.push(r);
    print(r);
  }
  const label = `${storeKind}${values.synchronous ? `-sync-${values.synchronous}` : ''}`;
  const report = {
    store: label,
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    results,
  };
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${label}-latest.json`, dir), JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten to bench/results/${label}-latest.json`);
}

function print(r: WorkloadResult): void {
  const lat = r.latencyMs ? `  latency ms p50 ${r.latencyMs.p50} p95 ${r.latencyMs.p95} p99 ${r.latencyMs.p99} max ${r.latencyMs.max}` : '';
  const rss = r.peakRssMb ? `  peak RSS ${r.peakRssMb} MB` : '';
  console.log(`${r.name.padEnd(62)} ${String(r.jobsPerSecond).padStart(8)} jobs/s${lat}${rss}`);
}

await main();
