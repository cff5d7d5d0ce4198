import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { CLI, runCli, startNode } from './processes.js';
import { tempDir } from './stores.js';

/** A real `offload start` for agent clients to work against, with one token per role. */
export interface AgentServer {
  url: string;
  tokens: { work: string; submit: string; admin: string };
  dir: string;
  /** The store's environment, for CLI commands against the same server. */
  env: Record<string, string>;
  dispose(): void;
}

/**
 * Starts a server that requires tokens, with a fast rescuer (leases that expire come back within
 * 200 ms of expiring, so crash tests take seconds). `work` and `submit` tokens are limited to the
 * given task patterns.
 */
export async function startAgentServer(patterns: string): Promise<AgentServer> {
  const dir = tempDir('offload-agents-');
  const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'server.db')}` };
  const tokens: Record<string, string> = {};
  for (const [name, scope] of [
    ['work', 'work'],
    ['submit', 'submit'],
    ['admin', 'admin'],
  ]) {
    const args = ['--json', 'token', 'create', name!, '--scope', scope!, ...(scope === 'admin' ? [] : ['--tasks', patterns])];
    const made = await runCli(args, { env });
    assert.equal(made.code, 0, made.stderr);
    tokens[name!] = (JSON.parse(made.stdout) as { secret: string }).secret;
  }
  const server = startNode([CLI, 'start', '--http', '127.0.0.1:0', '--require-token', '--rescue-interval', '200'], env);
  const url = (await server.waitForLine(/^HTTP API on /)).split(' ')[3]!;
  return { url, tokens: tokens as AgentServer['tokens'], dir: dir.path, env, dispose: () => dir.dispose() };
}

/**
 * Whether a program runs (`python3 --version`). Outside CI a missing one skips its client's tests;
 * in CI (CI=true) it fails them: a client must never go untested there.
 */
export function programAvailable(command: string, args: string[]): { ok: boolean; skip: string | false } {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  const ok = r.status === 0;
  const ci = /^(1|true|yes)$/i.test(process.env.CI ?? '');
  return { ok, skip: ok || ci ? false : `${command} is not installed here (in CI this fails)` };
}

/** Calls the API with a token; JSON in and out. */
export async function api(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

/** Waits until an agent has registered `task` (its first claim does), so producers can submit to it. */
export async function taskRegistered(server: AgentServer, task: string): Promise<void> {
  await eventually(
    async () => (await api(server.url, server.tokens.submit, 'GET', '/v1/tasks')).json.tasks.some((t: { task: string }) => t.task === task),
    'the agent registered its task',
    20_000,
  );
}

/**
 * What every client README's example agent (`images.thumbnail`) must do: register its task,
 * succeed with progress on good input, fail for good (one attempt) on bad input.
 */
export async function checkThumbnailAgent(server: AgentServer): Promise<void> {
  await taskRegistered(server, 'images.thumbnail');
  const ok = await api(server.url, server.tokens.submit, 'POST', '/v1/jobs?wait=20', { task: 'images.thumbnail', input: { image: 'cat.png', width: 64 } });
  assert.deepEqual(
    [ok.status, ok.json.job.state, ok.json.job.result, ok.json.job.progress],
    [200, 'succeeded', { thumbnail: 'cat-64.png' }, { done: 1, total: 2, message: 'resizing' }],
  );
  const bad = await api(server.url, server.tokens.submit, 'POST', '/v1/jobs?wait=20', { task: 'images.thumbnail', input: { image: 'cat.png', width: 0 } });
  assert.deepEqual([bad.json.job.state, bad.json.job.attempt, bad.json.job.error.message], ['failed', 1, 'width must be a positive number']);
}
