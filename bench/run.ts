/**
 * `npm run bench [-- --store URL] [--only W1,W3]`: runs the workloads, prints a table, and writes
 * the figures to bench/results/<store>-<timestamp>.json (and <store>-latest.json).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
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

/** A schema of its own per workload on the given server, dropped afterwards. */
function postgresFresh(serverUrl: string): FreshStore {
  return async (label) => {
    const schema = `offload_bench_${label}_${process.pid}`;
    const url = new URL(serverUrl);
    url.searchParams.set('schema', schema);
    if (values.synchronous) url.searchParams.set('synchronousCommit', values.synchronous);
    return { url: url.toString(), dispose: () => dropSchema(serverUrl, schema) };
  };
}

export async function dropSchema(serverUrl: string, schema: string): Promise<void> {
  const url = new URL(serverUrl);
  url.search = '';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

const workloads: Record<string, (fresh: FreshStore) => Promise<WorkloadResult>> = {
  W1: (f) => w1SingleEnqueues(f),
  W2: (f) => w2ChunkedEnqueues(f),
  W3: (f) => w3Drain(f),
  W4: (f) => w4Latency(f),
};

async function main(): Promise<void> {
  const storeKind = values.store!.startsWith('postgres') ? 'postgres' : 'sqlite';
  const fresh = storeKind === 'postgres' ? postgresFresh(values.store!) : sqliteFresh(values.synchronous);
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
