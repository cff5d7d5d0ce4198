/**
 * Agents over HTTP on loopback, through the real server: A1 a TypeScript remote worker
 * (`offload worker --connect`), A2 the Python agent, A3 the Java agent, each a process of its own
 * (the server runs in this one) with concurrency 8 on
 * jobs whose handler returns at once, so the figure is the agent's and the API's overhead per job.
 * Timed from the first job started to the last one succeeded, on the server's events (process
 * start-up is left out). A2 and A3 are skipped when python3 or javac is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../src/core/logger.js';
import { httpFrontDoor } from '../src/http/front-door.js';
import { defineTask, Offload } from '../src/index.js';
import type { FreshStore, WorkloadResult } from './workloads.js';

const JOBS = 2000;
const CONCURRENCY = 8;
const TASK = 'bench.agent';
const CLIENTS = fileURLToPath(new URL('../../clients/', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const INDEX = fileURLToPath(new URL('../src/index.js', import.meta.url));

interface Agent {
  stop(): Promise<void>;
  /** Rejects if the agent dies before the drain is over. */
  died: Promise<never>;
}

/** Serves a fresh store, queues JOBS jobs, starts the agent, and times the drain on the server's events. */
async function drain(fresh: FreshStore, label: string, name: string, startAgent: (url: string) => Promise<Agent>): Promise<WorkloadResult> {
  const store = await fresh(label);
  const offload = await Offload.open({ store: store.url, logger: silentLogger });
  const door = await httpFrontDoor({ host: '127.0.0.1', port: 0 })(offload, silentLogger);
  await door.start();
  let agent: Agent | undefined;
  try {
    await offload.store.registerTasks({ tasks: [{ name: TASK, settings: defineTask(TASK, async () => null).settings }], now: Date.now() });
    for (let i = 0; i < JOBS; i += 500)
      await offload.enqueueMany(Array.from({ length: Math.min(500, JOBS - i) }, (_, k) => ({ task: TASK, input: { i: i + k } })));
    let first = 0;
    let done = 0;
    const finished = new Promise<number>((resolve) => {
      offload.on('job:started', () => {
        first ||= performance.now();
      });
      offload.on('job:succeeded', () => {
        if (++done === JOBS) resolve(performance.now());
      });
    });
    agent = await startAgent(door.url);
    const seconds = ((await Promise.race([finished, agent.died])) - first) / 1000;
    return { name, jobs: JOBS, seconds: Math.round(seconds * 1000) / 1000, jobsPerSecond: Math.round(JOBS / seconds) };
  } finally {
    await agent?.stop();
    await door.stop();
    await offload.close();
    await store.dispose();
  }
}

export async function a1RemoteWorker(fresh: FreshStore): Promise<WorkloadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'offload-bench-ts-'));
  try {
    const tasks = join(dir, 'bench-tasks.mjs');
    writeFileSync(tasks, `import { defineTask } from ${JSON.stringify(INDEX)};\nexport const task = defineTask('${TASK}', async () => null);\n`);
    return await drain(fresh, 'a1', `A1 TS worker --connect (a process), concurrency ${CONCURRENCY}`, async (url) =>
      process_(process.execPath, [CLI, 'worker', tasks, '--connect', url, '--concurrency', String(CONCURRENCY)], { OFFLOAD_LOG_LEVEL: 'warn' }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function a2PythonAgent(fresh: FreshStore): Promise<WorkloadResult | undefined> {
  if (spawnSync('python3', ['--version']).status !== 0) return undefined;
  const script = `from offload_agent import Agent\nAgent('URL').run({'${TASK}': lambda input, ctx: None}, concurrency=${CONCURRENCY})\n`;
  return drain(fresh, 'a2', `A2 Python agent, concurrency ${CONCURRENCY}`, async (url) =>
    process_('python3', ['-c', script.replace('URL', url)], { PYTHONPATH: join(CLIENTS, 'python'), PYTHONDONTWRITEBYTECODE: '1' }),
  );
}

export async function a3JavaAgent(fresh: FreshStore): Promise<WorkloadResult | undefined> {
  if (spawnSync('javac', ['-version']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'offload-bench-java-'));
  try {
    writeFileSync(
      join(dir, 'BenchAgent.java'),
      `public class BenchAgent {
  public static void main(String[] a) throws Exception {
    new offload.Agent(a[0], null).run(java.util.Map.of("${TASK}", (input, ctx) -> null), ${CONCURRENCY});
  }
}
`,
    );
    const src = join(CLIENTS, 'java/src/offload');
    const compiled = spawnSync('javac', ['-d', dir, join(dir, 'BenchAgent.java'), ...readdirSync(src).map((f) => join(src, f))]);
    if (compiled.status !== 0) throw new Error(`javac failed: ${compiled.stderr}`);
    return await drain(fresh, 'a3', `A3 Java agent, concurrency ${CONCURRENCY}`, async (url) => process_('java', ['-cp', dir, 'BenchAgent', url], {}));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An agent process, stopped with SIGTERM (graceful) when the drain is over. */
async function process_(command: string, args: string[], env: Record<string, string>): Promise<Agent> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    stop: async () => {
      stopping = true;
      child.kill('SIGTERM');
      await exited;
    },
    died: exited.then(() => {
      throw new Error(`${command} exited${stopping ? '' : ' before the jobs were done'}`);
    }),
  };
}
