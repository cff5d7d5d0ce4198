/**
 * The processes of a chaos scenario, each real: the server (`offload start`, HTTP API and an
 * in-process worker), `offload worker` processes on the same store, and a Python HTTP agent.
 * Any of them can be killed with SIGKILL and started again; the server keeps its port, so the
 * producer and the agent find it again.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { type Child, CLI, ROOT, startNode, startProcess } from '../test/helpers/processes.js';
import { CHAOS_TASK } from './tasks.js';

const TASKS = fileURLToPath(new URL('./tasks.js', import.meta.url));
const AGENT = join(ROOT, 'chaos/agent.py');
/** Short leases and a quick rescuer: a killed process's jobs come back within seconds. */
export const LEASE_MS = 5000;

export interface ClusterOptions {
  storeUrl: string;
  /** Where the processes write their runs (see chaos/tasks.ts). */
  runsDir: string;
  /** `offload worker` processes (default 2). */
  workers?: number;
  /** Jobs run at once by each `offload worker` (default 8); the server's worker runs half as many. */
  concurrency?: number;
  /** Start the Python agent (default true). */
  agent?: boolean;
}

/** Every process a cluster ever started, for the log scan at the end (a restarted one is a new child). */
interface Started {
  role: string;
  child: Child;
}

export class Cluster {
  readonly url: string;
  server: Child | undefined;
  readonly workers: (Child | undefined)[];
  agent: Child | undefined;
  private readonly started: Started[] = [];
  /** The harness's own connection to the store, for looking at jobs while the cluster runs. */
  private probe: Promise<Store> | undefined;

  private constructor(
    private readonly opts: ClusterOptions,
    private readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.workers = Array.from({ length: opts.workers ?? 2 }, () => undefined);
  }

  static async start(opts: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(opts, await freePort());
    await cluster.startServer();
    await Promise.all(cluster.workers.map((_, i) => cluster.startWorker(i)));
    if (opts.agent !== false) cluster.startAgent();
    return cluster;
  }

  private env(kind: string): Record<string, string> {
    return { OFFLOAD_CHAOS_RUNS: this.opts.runsDir, OFFLOAD_CHAOS_KIND: kind, OFFLOAD_LOG_LEVEL: 'warn' };
  }

  async startServer(): Promise<void> {
    const child = startNode(
      [
        CLI,
        '--store',
        this.opts.storeUrl,
        'start',
        '--tasks',
        TASKS,
        '--http',
        `127.0.0.1:${this.port}`,
        '--gearman',
        'off',
        '--concurrency',
        String((this.opts.concurrency ?? 8) / 2),
        '--lease',
        String(LEASE_MS),
        '--rescue-interval',
        '1000',
        '--shutdown-timeout',
        '2000',
      ],
      this.env('server'),
    );
    this.started.push({ role: 'server', child });
    this.server = child;
    await child.waitForLine(/HTTP API on/);
  }

  async startWorker(i: number): Promise<void> {
    const child = startNode(
      [
        CLI,
        '--store',
        this.opts.storeUrl,
        'worker',
        TASKS,
        '--concurrency',
        String(this.opts.concurrency ?? 8),
        '--lease',
        String(LEASE_MS),
        '--shutdown-timeout',
        '2000',
      ],
      this.env('worker'),
    );
    this.started.push({ role: `worker ${i + 1}`, child });
    this.workers[i] = child;
    // A worker that cannot reach the store yet (the database is down) keeps trying; it prints its banner once it works.
    await Promise.race([child.waitForLine(/^worker /), new Promise((resolve) => setTimeout(resolve, 15_000))]);
  }

  startAgent(): void {
    const child = startProcess('python3', [AGENT, this.url, this.opts.runsDir], { PYTHONPATH: join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' });
    this.started.push({ role: 'agent', child });
    this.agent = child;
  }

  async killServer(): Promise<void> {
    await this.server?.kill('SIGKILL');
    this.server = undefined;
  }

  /** SIGKILLs `offload worker` number `i`; how many jobs it held as it died (running in the store under its id). */
  async killWorker(i: number): Promise<number> {
    const pid = this.workers[i]?.process.pid;
    await this.workers[i]?.kill('SIGKILL');
    this.workers[i] = undefined;
    return (await this.runningOf(pid)).length;
  }

  private async runningOf(pid: number | undefined) {
    this.probe ??= openStore(this.opts.storeUrl);
    const running = await (await this.probe).listJobs({ task: CHAOS_TASK, state: 'running', limit: 1000 });
    return running.filter((j) => j.workerId?.includes(`:${pid}:`));
  }

  /** Resolves once `offload worker` number `i` is running a job (its worker id carries its pid), or after `limitMs`. */
  async workerBusy(i: number, limitMs = 5000): Promise<boolean> {
    const pid = this.workers[i]?.process.pid;
    const end = Date.now() + limitMs;
    while (Date.now() < end) {
      if ((await this.runningOf(pid)).length > 0) return true;
      // Looks 100 times a second: often enough to catch a 50 ms job, not so often that the look is the load.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  }

  /** Stops everything: SIGTERM first (graceful), SIGKILL for whatever is still up after a while. */
  async stop(): Promise<void> {
    const probe = this.probe;
    this.probe = undefined;
    await (await probe)?.close();
    const children = [this.agent, ...this.workers, this.server].filter((c): c is Child => c !== undefined);
    await Promise.all(
      children.map(async (c) => {
        c.process.kill('SIGTERM');
        const timer = setTimeout(() => c.process.kill('SIGKILL'), 8000);
        await c.exited;
        clearTimeout(timer);
      }),
    );
  }

  /** stderr of every process this cluster started (logs are JSON lines, the agent's plain text). */
  logs(): { role: string; text: string }[] {
    return this.started.map((s) => ({ role: s.role, text: s.child.stderr() }));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
