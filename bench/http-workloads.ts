/**
 * HTTP workloads on loopback, through the real server (Fastify, access control, validation):
 * H1 single-job POST /v1/jobs from 16 concurrent clients · H2 agents' claim→complete round trips,
 * 8 agents each claiming one job at a time. Node's fetch (undici) with keep-alive is the client.
 */
import { silentLogger } from '../src/core/logger.js';
import { httpFrontDoor } from '../src/http/front-door.js';
import { Offload } from '../src/index.js';
import type { FreshStore, WorkloadResult } from './workloads.js';

const JOBS = 4000;

async function serve(url: string) {
  const offload = await Offload.open({ store: url, logger: silentLogger });
  const door = await httpFrontDoor({ host: '127.0.0.1', port: 0 })(offload, silentLogger);
  await door.start();
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${door.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  return {
    offload,
    post,
    close: async () => {
      await door.stop();
      await offload.close();
    },
  };
}

async function inParallel(n: number, fn: () => Promise<boolean>): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (await fn());
    }),
  );
}

export async function h1HttpSubmits(fresh: FreshStore): Promise<WorkloadResult> {
  const store = await fresh('h1');
  const s = await serve(store.url);
  try {
    await s.post('/v1/claim', { tasks: ['bench.http'] }); // registers the task
    let next = 0;
    const started = performance.now();
    await inParallel(16, async () => {
      const i = next++;
      if (i >= JOBS) return false;
      await s.post('/v1/jobs', { task: 'bench.http', input: { i } });
      return true;
    });
    const seconds = (performance.now() - started) / 1000;
    return { name: 'H1 HTTP POST /v1/jobs, one job each, 16 clients', jobs: JOBS, seconds: round(seconds), jobsPerSecond: Math.round(JOBS / seconds) };
  } finally {
    await s.close();
    await store.dispose();
  }
}

export async function h2HttpRoundTrips(fresh: FreshStore): Promise<WorkloadResult> {
  const store = await fresh('h2');
  const s = await serve(store.url);
  try {
    await s.post('/v1/claim', { tasks: ['bench.http'] });
    for (let i = 0; i < JOBS; i += 1000) {
      await s.post(
        '/v1/jobs',
        Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => ({ task: 'bench.http', input: { i: i + k } })),
      );
    }
    let done = 0;
    const started = performance.now();
    await inParallel(8, async () => {
      const { jobs } = await s.post('/v1/claim', { tasks: ['bench.http'], max: 1 });
      if (jobs.length === 0) return false;
      await s.post(`/v1/jobs/${jobs[0].id}/complete`, { leaseToken: jobs[0].leaseToken, result: null });
      done++;
      return true;
    });
    const seconds = (performance.now() - started) / 1000;
    return { name: 'H2 HTTP claim→complete round trips, 8 agents', jobs: done, seconds: round(seconds), jobsPerSecond: Math.round(done / seconds) };
  } finally {
    await s.close();
    await store.dispose();
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
