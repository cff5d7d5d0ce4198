/**
 * `npm run bench [-- --store URL] [--only W1,W3,G]`: runs the workloads, prints a table, and writes
 * the figures to bench/results/<store>-latest.json; the Gearman part (G: the same PHP clients and
 * workers against gearmand and against Offload) to bench/results/gearman-latest.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { h1HttpSubmits, h2HttpRoundTrips } from './http-workloads.js';
import { gearmanBench, gearmanBenchUnavailable, type GearmanResult } from './gearman.js';
import { type FreshStore, type WorkloadResult, w1SingleEnqueues, w2ChunkedEnqueues, w3Drain, w4Latency } from './workloads.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
    synchronous: { type: 'string' },
    'gearman-clients': { type: 'string', default: '10' },
    'gearman-workers': { type: 'string', default: '10' },
    'gearman-jobs': { type: 'string', default: '2000' },
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
  const only = values.only ? values.only.split(',') : [...Object.keys(workloads), 'G'];
  const results: WorkloadResult[] = [];
  for (const name of only.filter((n) => n !== 'G')) {
    const run = workloads[name];
    if (!run) throw new Error(`unknown workload ${name}; known: ${Object.keys(workloads).join(', ')}, G`);
    const r = await run(fresh);
    results.push(r);
    print(r);
  }
  const label = `${storeKind}${values.synchronous ? `-sync-${values.synchronous}` : ''}`;
  if (results.length) write(`${label}-latest.json`, { store: label, at: new Date().toISOString(), machine: machine(), results });
  if (only.includes('G')) await gearman();
}

/** The Gearman part: one run against gearmand, one against Offload, the same PHP processes. */
async function gearman(): Promise<void> {
  const unavailable = gearmanBenchUnavailable();
  if (unavailable) {
    console.log(`\nGearman part skipped: it ${unavailable}`);
    return;
  }
  const opts = {
    clients: Number(values['gearman-clients']),
    workers: Number(values['gearman-workers']),
    foregroundPerClient: Number(values['gearman-jobs']),
    backgroundPerClient: Number(values['gearman-jobs']) * 2,
  };
  console.log(`\nGearman: PHP clients and workers against gearmand (in memory) and Offload (SQLite, every job stored); load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const loadBefore = loadavg();
  const results = await gearmanBench(opts, printGearman);
  const fg = (server: string) => results.find((r) => r.server === server && r.name.startsWith('G2'))!.jobsPerSecond;
  const ratio = fg('offload') / fg('gearmand');
  console.log(`Offload's foreground throughput is ${(ratio * 100).toFixed(0)}% of gearmand's (aim: at least 80%)`);
  write('gearman-latest.json', { at: new Date().toISOString(), machine: machine(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg(), options: opts, results, offloadToGearmandForeground: Math.round(ratio * 100) / 100 });
}

function machine() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
}

function write(file: string, report: unknown): void {
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(file, dir), JSON.stringify(report, null, 2) + '\n');
  console.log(`written to bench/results/${file}`);
}

function printGearman(r: GearmanResult): void {
  const lat = `latency ms p50 ${r.latencyMs.p50} p99 ${r.latencyMs.p99} max ${r.latencyMs.max}`;
  const cpu = r.serverCpuUsPerJob === null ? '' : `  server CPU ${r.serverCpuUsPerJob} µs/job`;
  console.log(`${`${r.name} [${r.server}]`.padEnd(72)} ${String(r.jobsPerSecond).padStart(8)} jobs/s  ${lat}${cpu}`);
}

function print(r: WorkloadResult): void {
  const lat = r.latencyMs ? `  latency ms p50 ${r.latencyMs.p50} p95 ${r.latencyMs.p95} p99 ${r.latencyMs.p99} max ${r.latencyMs.max}` : '';
  const rss = r.peakRssMb ? `  peak RSS ${r.peakRssMb} MB` : '';
  console.log(`${r.name.padEnd(62)} ${String(r.jobsPerSecond).padStart(8)} jobs/s${lat}${rss}`);
}

await main();
