/** Every chaos scenario `npm run chaos` runs, in order; `short` versions run inside `npm test`. */
import { holdConnections, idleInTransaction, restartPostgres, sleep, terminateBackends } from './faults.js';
import { Producer } from './producer.js';
import type { Scenario, ScenarioContext } from './scenario.js';

/**
 * Kills `offload worker` number `i` with SIGKILL while it holds a job (tried again a few times
 * when the job finished between the look and the kill), and starts it again `downMs` later.
 */
async function killWorker(ctx: ScenarioContext, i: number, downMs: number): Promise<void> {
  for (let tries = 1; ; tries++) {
    await ctx.cluster.workerBusy(i);
    if ((await ctx.cluster.killWorker(i)) > 0) break;
    if (tries === 3) {
      ctx.note(`worker ${i + 1} held no job when it was killed`);
      break;
    }
    await ctx.cluster.startWorker(i);
  }
  await sleep(downMs);
  await ctx.cluster.startWorker(i);
}

/** SIGKILLs the server while a burst of submits is on its way, and starts it again a second later. */
async function killServerMidBurst(ctx: ScenarioContext): Promise<void> {
  const burst = ctx.producer.burst(ctx.short ? 2000 : 5000, 100, 4);
  await sleep(500);
  await ctx.cluster.killServer();
  await sleep(1000);
  await ctx.cluster.startServer();
  await burst;
}

const workerKill = (store: 'postgres' | 'sqlite'): Scenario => ({
  name: 'worker-kill',
  store,
  title: 'one of two worker processes SIGKILLed mid-load, restarted 2 s later',
  fault: (ctx) => killWorker(ctx, 0, 2000),
});

const workerKills = (store: 'postgres' | 'sqlite'): Scenario => ({
  name: 'worker-kills',
  store,
  title: 'a worker process SIGKILLed and restarted every 3 s for 30 s',
  async fault(ctx) {
    const end = Date.now() + (ctx.short ? 9000 : 30_000);
    let kills = 0;
    while (Date.now() < end) {
      await killWorker(ctx, kills++ % 2, 0);
      await sleep(3000);
    }
    ctx.note(`${kills} kills`);
  },
});

const serverKill = (store: 'postgres' | 'sqlite'): Scenario => ({
  name: 'server-kill',
  store,
  title: 'the server (HTTP API + in-process worker) SIGKILLed mid-burst, restarted 1 s later',
  fault: killServerMidBurst,
});

const overload = (store: 'postgres' | 'sqlite'): Scenario => ({
  // 24 slots (the server's worker 4, two workers 8 each, the agent 4) × 20 jobs/s at 50 ms a job: 480 jobs/s.
  name: 'overload',
  store,
  title: 'offered 1.5× what the workers can do (720 jobs/s against 480) for 30 s',
  rate: 200,
  async fault(ctx) {
    const extra = new Producer({ url: ctx.cluster.url, rate: 520, handlerMs: 50, runId: `overload-${Date.now()}`, firstSeq: 1e9 });
    extra.start();
    await sleep(ctx.short ? 8000 : 30_000);
    await extra.stop();
    // The checker counts the extra producer's jobs with the others.
    for (const [seq, id] of extra.acked) ctx.producer.acked.set(seq, id);
    ctx.note(`${extra.offered} extra jobs offered`);
  },
});

const burst = (store: 'postgres' | 'sqlite'): Scenario => ({
  name: 'burst',
  store,
  title: 'a burst of 50,000 submits (500 per request, 4 at a time) on top of the steady load; jobs that return at once',
  handlerMs: 0,
  async fault(ctx) {
    const total = ctx.short ? 5000 : 50_000;
    const started = Date.now();
    await ctx.producer.burst(total, 500, 4);
    ctx.note(`burst stored at ${Math.round(total / ((Date.now() - started) / 1000))} jobs/s`);
  },
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'pg-restart',
    store: 'postgres',
    title: 'the PostgreSQL server restarted mid-load (pg_ctlcluster restart)',
    fault: () => restartPostgres(),
  },
  {
    name: 'pg-terminate',
    store: 'postgres',
    title: 'pg_terminate_backend on every Offload connection, 5 times a second for 30 s',
    async fault(ctx) {
      const killed = await terminateBackends(ctx.applicationName!, 200, ctx.short ? 8000 : 30_000);
      ctx.note(`${killed} backends terminated`);
    },
  },
  {
    name: 'pool-exhaustion',
    store: 'postgres',
    title: 'idle connections hold all but 2 of max_connections for 20 s; a worker process restarted meanwhile',
    async fault(ctx) {
      const hold = await holdConnections(2);
      ctx.note(`${hold.held} connections held`);
      try {
        await ctx.cluster.killWorker(1);
        void ctx.cluster.startWorker(1);
        await sleep(ctx.short ? 6000 : 20_000);
      } finally {
        await hold.release();
      }
    },
  },
  workerKill('postgres'),
  workerKills('postgres'),
  serverKill('postgres'),
  {
    name: 'idle-in-transaction',
    store: 'postgres',
    title: 'a transaction left idle for 2 minutes (vacuum held back)',
    async fault(ctx) {
      const tx = await idleInTransaction();
      await sleep(ctx.short ? 10_000 : 120_000);
      await tx.release();
    },
  },
  overload('postgres'),
  burst('postgres'),
  workerKill('sqlite'),
  serverKill('sqlite'),
  {
    name: 'disk-full',
    store: 'sqlite',
    diskMb: 64,
    title: "the SQLite store's filesystem filled up for 8 s, then space freed",
    async fault(ctx) {
      ctx.disk!.fill(256);
      await sleep(ctx.short ? 4000 : 8000);
      ctx.disk!.free();
    },
  },
  overload('sqlite'),
  burst('sqlite'),
];

export function scenario(name: string, store: 'postgres' | 'sqlite'): Scenario {
  const s = SCENARIOS.find((x) => x.name === name && x.store === store);
  if (!s) throw new Error(`no chaos scenario ${name} on ${store}`);
  return s;
}
