import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const INDEX = fileURLToPath(new URL('../../src/index.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Child {
  process: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  stderr(): string;
  /** Resolves with the first stdout line matching `re` (already seen or coming). */
  waitForLine(re: RegExp): Promise<string>;
  /** Resolves once `n` stdout lines have matched `re` (counted as they arrive). */
  waitForLines(re: RegExp, n: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Like `exited`, once all of the output has been read too. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/**
 * Every child runs with quiet logs, and an `offload start` that is not told where to listen takes
 * free ports: test files run in parallel and must never fight over 7070 or 4730.
 */
const TEST_DEFAULTS = { OFFLOAD_LOG_LEVEL: 'error', OFFLOAD_HTTP: '127.0.0.1:0', OFFLOAD_GEARMAN: '127.0.0.1:0' };
// Children must not outlive a test file that ends abruptly.
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Starts `node args…`; every child still running is killed by `killAll()`. */
export function startNode(args: string[], env: Record<string, string> = {}, cwd = ROOT): Child {
  return startProcess(process.execPath, args, env, cwd);
}

/** Starts any program (a PHP script, python3, java, the `gearman` command…); killed by `killAll()` like node children. */
export function startProcess(command: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): Child {
  // NODE_TEST_CONTEXT would make a node child think it runs under the test runner, which wraps
  // (and slows down) everything it writes to stdout.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const proc = spawn(command, args, { cwd, env: { ...inherited, ...TEST_DEFAULTS, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(proc);
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const watchers: { re: RegExp; resolve: (line: string) => void }[] = [];
  const counters: { re: RegExp; left: number; resolve: () => void }[] = [];
  const addLine = (line: string) => {
    lines.push(line);
    for (const w of [...watchers]) {
      if (w.re.test(line)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
    for (const c of [...counters]) {
      if (c.re.test(line) && --c.left <= 0) {
        counters.splice(counters.indexOf(c), 1);
        c.resolve();
      }
    }
  };
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) addLine(line);
  });
  // Output without a final newline (`gearman` prints a result as it came) is a line too.
  proc.stdout!.on('end', () => {
    if (partial !== '') addLine(partial);
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    });
    // The program could not be started at all (not installed).
    proc.on('error', (e) => {
      err += `${e.message}\n`;
      running.delete(proc);
      resolve({ code: 127, signal: null });
    });
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    process: proc,
    closed,
    lines,
    stderr: () => err,
    waitForLine(re) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        watchers.push({ re, resolve });
        void exited.then(({ code, signal }) => reject(new Error(`process exited (${code ?? signal}) before printing ${re}; stderr: ${err}`)));
      });
    },
    waitForLines(re, n) {
      const seen = lines.filter((l) => re.test(l)).length;
      if (seen >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        counters.push({ re, left: n - seen, resolve });
        void exited.then(({ code, signal }) => reject(new Error(`process exited (${code ?? signal}) before printing ${n} lines like ${re}; stderr: ${err}`)));
      });
    },
    exited,
    kill(signal = 'SIGKILL') {
      proc.kill(signal);
      return exited;
    },
  };
}

/** Runs the offload CLI to completion. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startNode([CLI, ...args], opts.env);
  if (opts.input !== undefined) child.process.stdin!.end(opts.input);
  else child.process.stdin!.end();
  const { code } = await child.exited;
  return { code, stdout: child.lines.join('\n'), stderr: child.stderr() };
}

export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}
