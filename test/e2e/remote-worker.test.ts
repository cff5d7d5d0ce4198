/** `offload worker MODULE --connect URL`: a worker process with no store, working for an `offload start` process over HTTP. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Child, CLI, INDEX, killAll, runCli, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

describe('offload worker --connect', () => {
  const dir = tempDir();
  const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'server.db')}` };
  const tasksPath = join(dir.path, 'remote-tasks.mjs');
  const secrets: Record<string, string> = {};
  let url = '';

  before(async () => {
    writeFileSync(
      tasksPath,
      `
import { defineTask } from ${JSON.stringify(INDEX)};
export const greet = defineTask('remote.greet', async (input, ctx) => {
  ctx.progress(1, 1, 'greeting');
  return { greeting: 'hello ' + input.name, pid: process.pid };
}, { maxAttempts: 2 });
`,
    );
    for (const [name, scope] of [
      ['worker', 'work'],
      ['app', 'submit'],
    ] as const) {
      const made = await runCli(['--json', 'token', 'create', name, '--scope', scope, '--tasks', 'remote.*'], { env });
      assert.equal(made.code, 0, made.stderr);
      secrets[name] = (JSON.parse(made.stdout) as { secret: string }).secret;
    }
    const server: Child = startNode([CLI, 'start', '--http', '127.0.0.1:0', '--require-token'], env);
    url = (await server.waitForLine(/^HTTP API on /)).split(' ')[3]!;
  });
  after(async () => {
    await killAll();
    dir.dispose();
  });

  it("runs the module's handlers on the server's jobs, with the token from $OFFLOAD_TOKEN, and stops on SIGTERM", async () => {
    // No store: the worker gets a store URL that would fail if it were opened.
    const worker = startNode([CLI, '--store', 'sqlite:/nonexistent/dir/x.db', 'worker', tasksPath, '--connect', url], { OFFLOAD_TOKEN: secrets.worker! });
    assert.match(
      await worker.waitForLine(/^worker /),
      new RegExp(`^worker \\S+ running remote\\.greet \\(concurrency 10\\) on ${url.replace(/[.]/g, '\\.')}$`),
    );
    const r = await fetch(`${url}/v1/jobs?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets.app}`, 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'remote.greet', input: { name: 'Ada' } }),
    });
    const { job } = (await r.json()) as { job: { state: string; result: { greeting: string; pid: number }; maxAttempts: number; progress: unknown } };
    assert.equal(r.status, 200);
    assert.deepEqual([job.state, job.result.greeting, job.result.pid, job.maxAttempts], ['succeeded', 'hello Ada', worker.process.pid, 2]);
    assert.deepEqual(job.progress, { done: 1, total: 1, message: 'greeting' });
    worker.process.kill('SIGTERM');
    assert.deepEqual(await worker.exited, { code: 0, signal: null });
  });

  it('--max-jobs and --until-idle end the run and exit 0 over HTTP too', async () => {
    for (const name of ['a', 'b', 'c']) {
      const r = await fetch(`${url}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secrets.app}`, 'content-type': 'application/json' },
        body: JSON.stringify({ task: 'remote.greet', input: { name } }),
      });
      assert.equal(r.status, 201);
    }
    const token = { OFFLOAD_TOKEN: secrets.worker! };
    const one = await runCli(['--json', 'worker', tasksPath, '--connect', url, '--max-jobs', '1'], { env: token });
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout.split('\n').at(-1)!), { worker: JSON.parse(one.stdout.split('\n')[0]!).worker, finished: 'max-jobs', started: 1 });
    const rest = await runCli(['worker', tasksPath, '--connect', url, '--until-idle'], { env: token });
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, /^worker \S+ finished \(nothing left to run\): 2 job\(s\) started$/m);
  });

  it("a token the server refuses stops the worker at start with the server's error code", async () => {
    const r = await runCli(['worker', tasksPath, '--connect', url, '--token', 'ofl_wrong'], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /UNAUTHORIZED/);
    const submitter = await runCli(['worker', tasksPath, '--connect', url], { env: { OFFLOAD_TOKEN: secrets.app! } });
    assert.equal(submitter.code, 1);
    assert.match(submitter.stderr, /FORBIDDEN/);
  });
});
