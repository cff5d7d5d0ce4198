/**
 * The Gearman part of `npm run bench`: the same PHP clients and workers (bench/php/, the PHP
 * gearman extension) against gearmand (in memory, on a free port) and against Offload's Gearman
 * port with every job stored, on SQLite and on PostgreSQL, in one run; and Offload on an
 * in-memory SQLite database, to show what storing every job costs (what is left is the port's own
 * work, on one thread).
 *   G1 background submits/s: C clients, each doBackground in a loop, no workers.
 *   G2 foreground round trips/s: C clients, each doNormal in a loop, W worker processes.
 *   G3 background submits/s from one client, doBackground in a loop.
 *   G4 bulk background submits/s: one client, addTaskBackground × 1000 then runTasks, B jobs.
 *   G5 drain/s of those B queued jobs by W worker processes started together.
 *   G6 doNormal round-trip latency at 100 calls/s from one client to one worker.
 * Latencies are per call as the client sees them (per runTasks of 1,000 in G4).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { dropSchema } from './peers/postgres.js';
import { type Percentiles, percentiles } from './workloads.js';

const PHP_DIR = fileURLToPath(new URL('../../bench/php/', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface GearmanBenchOptions {
  clients: number;
  workers: number;
  /** Submits per client in G1. */
  backgroundPerClient: number;
  /** Round trips per client in G2. */
  foregroundPerClient: number;
  /** Jobs submitted in bulk (G4) and drained (G5). */
  backlog: number;
  /** Offload on PostgreSQL too, on this server (a schema of its own, dropped afterwards). */
  postgresUrl?: string;
  /** The `offload` CLI to start as the server under test (default: this build's); another build's, to compare. */
  cli?: string;
  /** Offload servers write a CPU profile (node --cpu-prof) here. */
  profileDir?: string;
  /** Only these servers (all by default). */
  servers?: ServerName[];
}

export interface GearmanResult {
  name: string;
  server: ServerName;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  latencyMs: Percentiles;
  /** CPU time (user + system) the server process spent per job, where /proc tells (Linux). */
  serverCpuUsPerJob: number | null;
}

export type ServerName = 'gearmand' | 'offload' | 'offload-in-memory' | 'offload-postgres';

interface ServerUnderTest {
  name: ServerName;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Why the Gearman part cannot run here, or null. */
export function gearmanBenchUnavailable(): string | null {
  const gearmand = spawnSync('gearmand', ['--version'], { stdio: 'ignore' }).error === undefined;
  const php = /^gearman$/m.test(spawnSync('php', ['-m'], { encoding: 'utf8' }).stdout ?? '');
  if (gearmand && php) return null;
  return `needs ${[gearmand ? '' : 'gearmand', php ? '' : 'php with the gearman extension'].filter(Boolean).join(' and ')} (apt-get install gearman-job-server php-cli php-gearman)`;
}

/** Whether PostgreSQL answers at `url`. */
export async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

export async function gearmanBench(opts: GearmanBenchOptions, report: (r: GearmanResult) => void): Promise<GearmanResult[]> {
  const results: GearmanResult[] = [];
  const starts: Record<ServerName, () => Promise<ServerUnderTest>> = {
    gearmand: startGearmand,
    offload: () => startOffload('sqlite', opts),
    'offload-in-memory': () => startOffload('memory', opts),
    'offload-postgres': () => startOffload('postgres', opts),
  };
  const names = (opts.servers ?? (Object.keys(starts) as ServerName[])).filter((n) => n !== 'offload-postgres' || opts.postgresUrl);
  const servers = names.map((n) => starts[n]);
  const record = (r: GearmanResult) => {
    report(r);
    results.push(r);
  };
  for (const start of servers) {
    const server = await start();
    try {
      record(await runClients(server, 'background', opts.clients, opts.backgroundPerClient));
      record(await runClients(server, 'background', 1, opts.backgroundPerClient, 0, 'bench_bg1'));
      let stopWorkers = await startWorkers(server.port, opts.workers);
      try {
        record(await runClients(server, 'foreground', opts.clients, opts.foregroundPerClient, opts.workers));
      } finally {
        await stopWorkers();
      }
      record(await runClients(server, 'bulk', 1, opts.backlog, 0, 'bench_drain'));
      record(await drain(server, opts.workers, opts.backlog));
      stopWorkers = await startWorkers(server.port, 1);
      try {
        record(await runClients(server, 'paced', 1, 500, 1));
      } finally {
        await stopWorkers();
      }
    } finally {
      await server.stop();
    }
  }
  return results;
}

// ---- servers -----------------------------------------------------------------------------------

async function startGearmand(): Promise<ServerUnderTest> {
  const port = await freePort();
  const proc = spawn('gearmand', ['--listen=127.0.0.1', `--port=${port}`, '--queue-type=builtin', '--log-file=none', '--verbose=ERROR'], { stdio: 'ignore' });
  await waitForPort(port, proc);
  return { name: 'gearmand', port, pid: proc.pid!, stop: () => stop(proc) };
}

async function startOffload(kind: 'sqlite' | 'memory' | 'postgres', { postgresUrl, profileDir, cli = CLI }: GearmanBenchOptions): Promise<ServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'offload-bench-gearman-'));
  // Default SQLite settings (WAL, synchronous=NORMAL) and PostgreSQL's (synchronous_commit on):
  // every acknowledged job survives a crash of the server. In memory: nothing survives; the same
  // statements run, without the file.
  let store = `sqlite:${join(dir, 'bench.db')}`;
  let dispose: () => Promise<void> = async () => undefined;
  if (kind === 'memory') store = 'sqlite::memory:';
  if (kind === 'postgres') {
    const schema = `offload_bench_gearman_${process.pid}`;
    const url = new URL(postgresUrl!);
    url.searchParams.set('schema', schema);
    store = url.toString();
    await dropSchema(postgresUrl!, schema);
    dispose = () => dropSchema(postgresUrl!, schema);
  }
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const proc = spawn(process.execPath, [...profile, cli, '--store', store, 'start', '--gearman', '127.0.0.1:0', '--concurrency', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OFFLOAD_LOG_LEVEL: 'warn' },
  });
  let errors = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    errors += d;
  });
  proc.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`offload exited ${code}: ${errors}\n`);
  });
  const banner = await firstLine(proc, /^Gearman on /);
  const port = Number(/:(\d+) \(/.exec(banner)![1]);
  const names = { sqlite: 'offload', memory: 'offload-in-memory', postgres: 'offload-postgres' } as const;
  return {
    name: names[kind],
    port,
    pid: proc.pid!,
    stop: async () => {
      await stop(proc, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      await dispose();
    },
  };
}

// ---- PHP clients and workers -------------------------------------------------------------------

async function startWorkers(port: number, count: number): Promise<() => Promise<void>> {
  const procs = Array.from({ length: count }, () => spawn('php', [join(PHP_DIR, 'worker.php'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  await Promise.all(procs.map((p) => firstLine(p, /^READY$/)));
  return async () => {
    await Promise.all(procs.map((p) => stop(p)));
  };
}

interface ClientReport {
  n: number;
  start: number;
  end: number;
  latencies: number[];
}

type ClientMode = 'background' | 'foreground' | 'bulk' | 'paced';

function workloadName(mode: ClientMode, clients: number, workers: number, jobs: number): string {
  switch (mode) {
    case 'background':
      return clients === 1 ? 'G3 background submits, one PHP client' : `G1 background submits, ${clients} PHP clients`;
    case 'foreground':
      return `G2 foreground round trips, ${clients} PHP clients, ${workers} PHP workers`;
    case 'bulk':
      return `G4 bulk background submits (addTaskBackground × 1000 + runTasks), ${jobs} jobs`;
    case 'paced':
      return 'G6 doNormal at 100/s, one PHP client, one PHP worker';
  }
}

async function runClients(server: ServerUnderTest, mode: ClientMode, clients: number, perClient: number, workers = 0, fn?: string): Promise<GearmanResult> {
  const cpuBefore = cpuTicks(server.pid);
  const reports = await Promise.all(Array.from({ length: clients }, () => runClient(server.port, mode, perClient, fn)));
  const cpuAfter = cpuTicks(server.pid);
  const jobs = reports.reduce((n, r) => n + r.n, 0);
  const seconds = Math.max(...reports.map((r) => r.end)) - Math.min(...reports.map((r) => r.start));
  return {
    name: workloadName(mode, clients, workers, jobs),
    server: server.name,
    jobs,
    seconds: Math.round(seconds * 1000) / 1000,
    jobsPerSecond: Math.round(jobs / seconds),
    latencyMs: percentiles(reports.flatMap((r) => r.latencies)),
    // Warm-up calls (20 per client) are in the CPU time too.
    serverCpuUsPerJob: cpuBefore === null || cpuAfter === null ? null : Math.round(((cpuAfter - cpuBefore) * 10_000) / (jobs + 20 * clients)),
  };
}

interface DrainReport {
  n: number;
  first: number | null;
  last: number | null;
}

/** G5: `count` workers, started together, drain the `jobs` queued on `bench_drain`; from the first job's start to the last one's end. */
async function drain(server: ServerUnderTest, count: number, jobs: number): Promise<GearmanResult> {
  const procs = Array.from({ length: count }, () =>
    spawn('php', [join(PHP_DIR, 'worker.php'), String(server.port), 'bench_drain', 'drain'], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  await Promise.all(procs.map((p) => firstLine(p, /^READY$/)));
  const reports = procs.map((p) => lastJsonLine<DrainReport>(p));
  const cpuBefore = cpuTicks(server.pid);
  for (const p of procs) p.stdin!.end('go\n');
  const done = await Promise.all(reports);
  const cpuAfter = cpuTicks(server.pid);
  const drained = done.reduce((n, r) => n + r.n, 0);
  if (drained !== jobs) throw new Error(`G5 on ${server.name}: ${drained} of ${jobs} queued jobs were run`);
  const worked = done.filter((r) => r.n > 0);
  const seconds = Math.max(...worked.map((r) => r.last!)) - Math.min(...worked.map((r) => r.first!));
  return {
    name: `G5 drain ${jobs} queued jobs, ${count} PHP workers`,
    server: server.name,
    jobs,
    seconds: Math.round(seconds * 1000) / 1000,
    jobsPerSecond: Math.round(jobs / seconds),
    latencyMs: percentiles([seconds * 1000]),
    serverCpuUsPerJob: cpuBefore === null || cpuAfter === null ? null : Math.round(((cpuAfter - cpuBefore) * 10_000) / jobs),
  };
}

/** The JSON line a process prints last, once it has exited 0. */
function lastJsonLine<T>(proc: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: string) => {
      out += d;
    });
    proc.once('close', (code) => {
      if (code !== 0) return reject(new Error(`bench worker exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

/** utime + stime of a process in clock ticks (1/100 s), or null off Linux. */
function cpuTicks(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function runClient(port: number, mode: ClientMode, n: number, fn?: string): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const args = [join(PHP_DIR, 'client.php'), String(port), mode, String(n), ...(fn ? [fn] : [])];
    const proc = spawn('php', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    proc.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench client exited ${code}: ${err}`));
      resolve(JSON.parse(out) as ClientReport);
    });
  });
}

// ---- processes and ports -----------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`gearmand exited with ${proc.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gearmand did not listen on ${port}`);
}

function firstLine(proc: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (d: string) => {
      buffered += d;
      const line = buffered.split('\n').find((l) => re.test(l));
      if (line !== undefined) {
        proc.stdout!.off('data', onData);
        proc.stdout!.resume(); // keep draining, so the child never blocks on a full pipe
        resolve(line);
      }
    };
    proc.stdout!.setEncoding('utf8').on('data', onData);
    proc.once('exit', (code) => reject(new Error(`process exited (${code}) before printing ${re}`)));
  });
}

function stop(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}
