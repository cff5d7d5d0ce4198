/** `offload start` serving the HTTP API to programs in other languages: the agents guide's curl script, tokens from the CLI. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Child, CLI, killAll, ROOT, runCli, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('offload start: the HTTP API', () => {
  const dir = tempDir();
  const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'http.db')}` };
  const secrets: Record<string, string> = {};
  let server: Child;
  let url = '';

  before(async () => {
    for (const [name, scope] of [
      ['web-app', 'submit'],
      ['shell-agent', 'work'],
    ]) {
      const made = await runCli(['--json', 'token', 'create', name, '--scope', scope!, '--tasks', 'shell.*'], { env });
      assert.equal(made.code, 0, made.stderr);
      secrets[name!] = (JSON.parse(made.stdout) as { secret: string }).secret;
    }
    server = startNode([CLI, 'start', '--http', '127.0.0.1:0', '--require-token'], env);
    url = (await server.waitForLine(/^HTTP API on /)).split(' ')[3]!;
  });
  after(async () => {
    await killAll();
    dir.dispose();
  });

  it('token list shows names, scopes and patterns, never secrets; revoke needs an existing name', async () => {
    const list = await runCli(['token', 'list'], { env });
    assert.match(list.stdout, /^NAME\s+SCOPE\s+TASKS/);
    assert.match(list.stdout, /web-app\s+submit\s+shell\.\*/);
    assert.ok(!list.stdout.includes(secrets['web-app']!));
    const missing = await runCli(['token', 'revoke', 'nobody'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /TOKEN_NOT_FOUND/);
    const bad = await runCli(['token', 'create', 'x', '--scope', 'root'], { env });
    assert.equal(bad.code, 2);
  });

  it('examples/agent.sh (docs/guides/agents.md) submits, claims, heartbeats and completes with curl', async () => {
    const r = await run('sh', [join(ROOT, 'examples/agent.sh')], { OFFLOAD_URL: url, SUBMIT_TOKEN: secrets['web-app']!, WORK_TOKEN: secrets['shell-agent']! });
    assert.equal(r.code, 0, r.stderr);
    const [submitted, completed] = r.stdout.trim().split('\n');
    const id = /^submitted job (\d+)$/.exec(submitted!)![1];
    assert.deepEqual(JSON.parse(completed!), { id, state: 'succeeded', runAt: null });
    const job = await fetch(`${url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${secrets['web-app']}` } });
    const body = (await job.json()) as { job: { state: string; result: unknown; progress: unknown; workerId: string; origin: string } };
    assert.deepEqual(
      [body.job.state, body.job.result, body.job.workerId, body.job.origin],
      ['succeeded', { thumbnail: 'cat-64.png' }, 'shell-1', 'http:web-app'],
    );
    assert.deepEqual(body.job.progress, { done: 1, total: 2, message: 'resizing' });
  });

  it('examples/operations.sh (docs/guides/operations.md): a token over HTTP, errors grouped, a bulk retry and delete, the audit log', async () => {
    const made = await runCli(['--json', 'token', 'create', 'ops', '--scope', 'admin'], { env });
    const admin = (JSON.parse(made.stdout) as { secret: string }).secret;
    const call = async (token: string, path: string, body: unknown) => {
      const r = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await r.json()) as any;
    };
    // The agent's first claim registers its task; then a web app submits two jobs, and the agent fails both.
    await call(secrets['shell-agent']!, '/v1/claim', { tasks: ['shell.report'], workerId: 'shell-2' });
    for (let i = 0; i < 2; i++) await call(secrets['web-app']!, '/v1/jobs', { task: 'shell.report', input: { month: i } });
    for (let i = 0; i < 2; i++) {
      const [job] = (await call(secrets['shell-agent']!, '/v1/claim', { tasks: ['shell.report'], workerId: 'shell-2' })).jobs;
      await call(secrets['shell-agent']!, `/v1/jobs/${job.id}/fail`, { leaseToken: job.leaseToken, error: { message: 'upstream 503' }, retryable: false });
    }
    const r = await run('sh', [join(ROOT, 'examples/operations.sh'), 'shell.report'], { OFFLOAD_URL: url, ADMIN_TOKEN: admin });
    assert.equal(r.code, 0, r.stderr);
    const [token, errors, retried, deleted, audit] = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual([token.token.name, token.token.scope, token.secret], ['dashboard', 'read', '(shown once)']);
    assert.deepEqual(
      errors.errors.map((g: { task: string; message: string; count: number }) => [g.task, g.message, g.count]),
      [['shell.report', 'upstream 503', 2]],
    );
    assert.deepEqual(retried, { matched: 2, changed: 2, skipped: 0, reasons: {} });
    assert.deepEqual(deleted, { matched: 0, changed: 0, skipped: 0, reasons: {} });
    assert.deepEqual(
      audit.entries.map((e: { actor: string; route: string; status: number }) => [e.actor, e.route, e.status]),
      [
        ['ops', '/v1/jobs/bulk', 200],
        ['ops', '/v1/jobs/bulk', 200],
        ['ops', '/v1/tokens', 201],
      ],
    );
  });

  it('a revoked token is refused by the running server at once', async () => {
    const made = await runCli(['--json', 'token', 'create', 'temp', '--scope', 'read'], { env });
    const secret = (JSON.parse(made.stdout) as { secret: string }).secret;
    const auth = { authorization: `Bearer ${secret}` };
    assert.equal((await fetch(`${url}/v1/tasks`, { headers: auth })).status, 200);
    assert.equal((await runCli(['token', 'revoke', 'temp'], { env })).code, 0);
    assert.equal((await fetch(`${url}/v1/tasks`, { headers: auth })).status, 401);
    assert.equal((await fetch(`${url}/v1/tasks`)).status, 401, '--require-token holds on loopback too');
  });

  it('refuses to listen off loopback when no token exists', async () => {
    const empty = tempDir();
    try {
      const r = await runCli(['start', '--http', '0.0.0.0:0'], { env: { OFFLOAD_STORE: `sqlite:${join(empty.path, 'none.db')}` } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /TOKENS_REQUIRED/);
    } finally {
      empty.dispose();
    }
  });
});
