/**
 * The Gearman part of `npm run bench`: the same PHP clients and workers (bench/php/, the PHP
 * gearman extension) against gearmand (in memory, on a free port) and against Offload's Gearman
 * port (every job stored in SQLite), in one run; and Offload on an in-memory SQLite database, to
 * show what storing every job costs (what is left is the port's own work, on one thread).
 *   G1 background submits/s: C clients, each doBackground in a loop, no workers.
 *   G2 foreground round trips/s: C clients, each doNormal in a loop, W worker processes.
 * Latencies are per call, as the client sees them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

export type ServerName = 'gearmand' | 'offload' | 'offload-in-memory';

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

export async function gearmanBench(opts: GearmanBenchOptions, report: (r: GearmanResult) => void): Promise<GearmanResult[]> {
  const results: GearmanResult[] = [];
  for (const start of [startGearmand, () => startOffload(false), () => startOffload(true)]) {
    const server = await start();
    try {
      const g1 = await runClients(server, 'background', opts.clients, opts.backgroundPerClient);
      report(g1);
      results.push(g1);
      const stopWorkers = await startWorkers(server.port, opts.workers);
      try {
        const g2 = await runClients(server, 'foreground', opts.clients, opts.foregroundPerClient, opts.workers);
        report(g2);
        results.push(g2);
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

async function startOffload(inMemory: boolean): Promise<ServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'offload-bench-gearman-'));
  // Default SQLite settings (WAL, synchronous=NORMAL): every acknowledged job survives a crash of the
  // server. In memory: nothing survives; the same statements run, without the file.
  const store = inMemory ? 'sqlite::memory:' : `sqlite:${join(dir, 'bench.db')}`;
  const proc = spawn(process.execPath, [CLI, '--store', store, 'start', '--gearman', '127.0.0.1:0', '--concurrency', '0'], {
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
  return {
    name: inMemory ? 'offload-in-memory' : 'offload',
    port,
    pid: proc.pid!,
    stop: async () => {
      await stop(proc, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
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

async function runClients(server: ServerUnderTest, mode: 'background' | 'foreground', clients: number, perClient: number, workers = 0): Promise<GearmanResult> {
  const cpuBefore = cpuTicks(server.pid);
  const reports = await Promise.all(Array.from({ length: clients }, () => runClient(server.port, mode, perClient)));
  const cpuAfter = cpuTicks(server.pid);
  const jobs = reports.reduce((n, r) => n + r.n, 0);
  const seconds = Math.max(...reports.map((r) => r.end)) - Math.min(...reports.map((r) => r.start));
  const name =
    mode === 'background' ? `G1 background submits, ${clients} PHP clients` : `G2 foreground round trips, ${clients} PHP clients, ${workers} PHP workers`;
  return {
    name,
    server: server.name,
    jobs,
    seconds: Math.round(seconds * 1000) / 1000,
    jobsPerSecond: Math.round(jobs / seconds),
    latencyMs: percentiles(reports.flatMap((r) => r.latencies)),
    // Warm-up calls (20 per client) are in the CPU time too.
    serverCpuUsPerJob: cpuBefore === null || cpuAfter === null ? null : Math.round(((cpuAfter - cpuBefore) * 10_000) / (jobs + 20 * clients)),
  };
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

function runClient(port: number, mode: string, n: number): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const proc = spawn('php', [join(PHP_DIR, 'client.php'), String(port), mode, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
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
