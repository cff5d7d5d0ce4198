/**
 * C: what the counters cost the hot path. The store's own turns — record 10 outcomes and claim
 * the next 10 in one call, as the group commit does for a worker at concurrency 10 — draining
 * 20,000 jobs inserted in chunks of 1,000, with the counters' triggers and without them (dropped,
 * BENCH-ONLY, on that round's fresh store). Rounds alternate which goes first, so the machine's
 * drift (other processes on it) hits both alike; medians and the ratio.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { resolveTaskSettings } from '../src/core/task.js';
import { openStore } from '../src/store/open.js';
import type { ClaimedJob, NewJob, Store } from '../src/store/store.js';
import { parseStoreUrl } from '../src/store/url.js';
import type { FreshStore, WorkloadResult } from './workloads.js';

const TASK = 'bench.counted';
const TRIGGERS = {
  sqlite: ['job_counts_insert', 'job_counts_delete', 'job_counts_update', 'job_throughput_finished', 'job_throughput_inserted', 'job_throughput_retried'],
  postgres: ['job_counts_inserted', 'job_counts_deleted', 'job_counts_updated'],
};

export interface CounterCostResult {
  results: WorkloadResult[];
  /** Drain rate with the counters over without them (medians). */
  ratio: number;
}

async function dropTriggers(url: string): Promise<void> {
  const parsed = parseStoreUrl(url);
  if (parsed.kind === 'sqlite') {
    const db = new Database(parsed.location);
    for (const t of TRIGGERS.sqlite) db.exec(`DROP TRIGGER ${t}`);
    db.close();
    return;
  }
  const u = new URL(url);
  const schema = u.searchParams.get('schema')!;
  u.search = '';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    for (const t of TRIGGERS.postgres) await client.query(`DROP TRIGGER ${t} ON ${schema}.jobs`);
  } finally {
    await client.end();
  }
}

function job(i: number, now: number): NewJob {
  return { task: TASK, input: `{"i":${i}}`, priority: 0, runAt: now, maxAttempts: 1, timeoutMs: null, uniqueKey: null, concurrencyKey: null, origin: null };
}

/** Jobs per second of the drain. */
async function drain(store: Store, n: number): Promise<number> {
  const now = Date.now();
  for (let i = 0; i < n; i += 1000) await store.insertJobs({ jobs: Array.from({ length: Math.min(1000, n - i) }, (_, k) => job(i + k, now)), now });
  const claim = { workerId: 'bench', tasks: [TASK], max: 10, leaseMs: 60_000, now };
  const started = performance.now();
  let held: ClaimedJob[] = await store.claimJobs(claim);
  let done = 0;
  while (held.length > 0) {
    const r = await store.finishJobs({ transitions: held.map((j) => ({ to: 'succeeded', id: j.id, token: j.leaseToken, result: null })), now, claim });
    done += held.length;
    held = r.claimed;
  }
  if (done !== n) throw new Error(`drained ${done} of ${n} jobs`);
  return Math.round(n / ((performance.now() - started) / 1000));
}

export async function counterCostBench(fresh: FreshStore, rounds = 5, n = 20_000): Promise<CounterCostResult> {
  const rates = { with: [] as number[], without: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const variant of r % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
      const target = await fresh(`c${r}${variant}`);
      try {
        const prepare = await openStore(target.url);
        await prepare.registerTasks({ tasks: [{ name: TASK, settings: resolveTaskSettings(TASK, {}) }], now: Date.now() });
        await prepare.close();
        if (variant === 'without') await dropTriggers(target.url);
        const store = await openStore(target.url);
        try {
          rates[variant].push(await drain(store, n));
        } finally {
          await store.close();
        }
      } finally {
        await target.dispose();
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = (variant: 'with' | 'without'): WorkloadResult => {
    const rate = median(rates[variant]);
    return {
      name: `C drain ${n} jobs by the store's turns of 10 outcomes + 10 claims, ${variant} the counters (median of ${rounds}: ${rates[variant].join(', ')})`,
      jobs: n,
      seconds: Math.round((n / rate) * 1000) / 1000,
      jobsPerSecond: rate,
    };
  };
  return { results: [result('with'), result('without')], ratio: Math.round((median(rates.with) / median(rates.without)) * 100) / 100 };
}
