/**
 * `offload flow` as a user runs it: a real CLI process against a SQLite file, with a worker in
 * another process. A flow file submitted with --wait (its exit code and outcome), a failing step
 * and its cancelled dependent, `flow show`, `flow watch` and `batch watch` of a flow, `flow
 * cancel`, and bad files refused with nothing stored.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, INDEX, killAll, runCli, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

describe('offload flow (CLI)', () => {
  const dir = tempDir();
  const url = `sqlite:${join(dir.path, 'flow.db')}`;
  const env = { OFFLOAD_STORE: url };
  const tasks = join(dir.path, 'tasks.mjs');
  const file = (name: string, doc: unknown) => {
    const path = join(dir.path, name);
    writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return path;
  };
  const jobCount = async () =>
    (JSON.parse((await runCli(['--json', 'counts'], { env })).stdout).tasks as Record<string, number>[]).reduce(
      (n, c) => n + c.waiting + c.queued + c.running + c.succeeded + c.failed + c.cancelled,
      0,
    );

  before(async () => {
    writeFileSync(
      tasks,
      `import { defineTask } from ${JSON.stringify(INDEX)};
export const num = defineTask('cf.num', async (n) => n);
export const sum = defineTask('cf.sum', async (_input, ctx) => Object.values(ctx.dependencies.results()).reduce((a, b) => a + b, 0));
export const boom = defineTask('cf.boom', async () => { throw new Error('exploded'); }, { maxAttempts: 1 });
`,
    );
    const worker = startNode([CLI, 'worker', tasks, '--concurrency', '4'], env);
    await worker.waitForLine(/^worker /);
  });
  after(async () => {
    await killAll();
    dir.dispose();
  });

  it('submits a fan-in flow with --wait: progress, then the outcome, exit 0; the join step summed its dependencies', async () => {
    const path = file('sum.json', {
      title: 'sums',
      steps: {
        total: { task: 'cf.sum', after: ['a', 'b'] },
        a: { task: 'cf.num', input: 1 },
        b: { task: 'cf.num', input: 2, options: { priority: 5 } },
      },
    });
    const r = await runCli(['flow', path, '--wait'], { env });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines.at(-1)!, /^flow \d+ finished: every step succeeded \(3 succeeded, 0 failed, 0 cancelled of 3\)$/);
    assert.match(r.stdout, /^flow \d+: 3\/3 done/m, 'a plain progress line (not a terminal)');
    const id = /^flow (\d+) finished/.exec(lines.at(-1)!)![1];
    const shown = JSON.parse((await runCli(['--json', 'flow', 'show', id], { env })).stdout).flow;
    assert.deepEqual([shown.kind, shown.title, shown.ok], ['flow', 'sums', true]);
    const total = shown.steps.find((s: { step: string }) => s.step === 'total');
    assert.deepEqual(total.after.sort(), ['a', 'b']);
    const job = JSON.parse((await runCli(['--json', 'status', total.id], { env })).stdout);
    assert.deepEqual([job.state, job.result], ['succeeded', 3]);

    const piped = await runCli(['--json', 'flow', '-', '--wait', '--title', 'from stdin'], {
      env,
      input: JSON.stringify({ steps: { one: { task: 'cf.num', input: 7 } } }),
    });
    assert.equal(piped.code, 0, piped.stderr);
    const out = JSON.parse(piped.stdout);
    assert.deepEqual([out.flow.title, out.flow.ok, out.flow.steps[0].step, out.failures], ['from stdin', true, 'one', []]);
  });

  it('a step that fails: exit 1, the failure listed with its step, and its dependent cancelled', async () => {
    const path = file('boom.json', {
      steps: {
        fetch: { task: 'cf.num', input: 1 },
        parse: { task: 'cf.boom', after: ['fetch'] },
        store: { task: 'cf.sum', after: ['parse'] },
        report: { task: 'cf.sum', after: [{ step: 'parse', onFailure: 'run' }] },
      },
    });
    const r = await runCli(['flow', path, '--wait'], { env });
    assert.equal(r.code, 1, 'not every step succeeded: exit 1, as a failed foreground batch');
    assert.match(r.stdout, /^flow \d+ finished: not every step succeeded \(2 succeeded, 1 failed, 1 cancelled of 4\)$/m);
    assert.match(r.stdout, /^ {2}step parse {2}job \d+ {2}cf\.boom {2}failed: HANDLER_ERROR exploded$/m);
    assert.match(r.stdout, /^ {2}step store {2}job \d+ {2}cf\.sum {2}cancelled: DEPENDENCY_FAILED "parse" \(job \d+, cf\.boom\) failed/m);
    assert.doesNotMatch(r.stdout, /step (fetch|report) /, 'the steps that succeeded are not listed');
  });

  it('flow show prints every step: what it waits for while it waits; flow cancel cancels what has not started', async () => {
    const path = file('held.json', {
      title: 'held',
      steps: {
        first: { task: 'cf.num', input: 1, options: { delayMs: 3_600_000 } },
        second: { task: 'cf.num', input: 2, after: ['first'] },
        last: { task: 'cf.sum', after: ['first', 'second'] },
      },
    });
    const submitted = await runCli(['flow', path], { env });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = /^flow (\d+) "held": 3 step\(s\) submitted; watch it with `offload flow watch \1`$/m.exec(submitted.stdout)?.[1];
    assert.ok(id, submitted.stdout);

    const shown = await runCli(['flow', 'show', id], { env });
    assert.equal(shown.code, 0, shown.stderr);
    const lines = shown.stdout.split('\n');
    assert.equal(lines[0], `flow ${id} "held"  running (0 succeeded, 0 failed, 0 cancelled, 3 pending of 3)`);
    assert.match(lines[1], /^STEP\s+JOB\s+TASK\s+STATE\s+AFTER\s+WAITING FOR$/);
    assert.match(lines[2], /^first\s+\d+\s+cf\.num\s+queued\s+-$/);
    assert.match(lines[3], /^second\s+\d+\s+cf\.num\s+waiting\s+first\s+first$/);
    assert.match(lines[4], /^last\s+\d+\s+cf\.sum\s+waiting\s+first,second\s+first,second$/);
    assert.equal(lines.length, 5);

    // Watched with a time limit: it goes on, WAIT_TIMEOUT, exit 1.
    const watched = await runCli(['flow', 'watch', id, '--wait-timeout', '300'], { env });
    assert.equal(watched.code, 1);
    assert.match(watched.stderr, /^error WAIT_TIMEOUT: /m);
    assert.match(watched.stdout, new RegExp(`^flow ${id}: 0/3 done$`, 'm'));
    const asBatch = await runCli(['batch', 'watch', id, '--wait-timeout', '300'], { env });
    assert.deepEqual([asBatch.code, /^error WAIT_TIMEOUT: Batch /m.test(asBatch.stderr)], [1, true], asBatch.stderr);

    const cancelled = await runCli(['flow', 'cancel', id], { env });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(cancelled.stdout, `flow ${id}: cancelled 3 step(s) that had not started (running ones finish)`);
    const after = await runCli(['flow', 'show', id], { env });
    assert.match(
      after.stdout,
      new RegExp(`^flow ${id} "held"  finished, not every step succeeded \\(0 succeeded, 0 failed, 3 cancelled, 0 pending of 3\\)$`, 'm'),
    );
    assert.match(after.stdout, /^last\s+\d+\s+cf\.sum\s+cancelled\s+first,second\s*$/m);

    // Watching a finished flow answers at once; batch watch works on a flow id too.
    for (const args of [
      ['flow', 'watch', id],
      ['batch', 'watch', id],
    ]) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stdout, new RegExp(`^(flow|batch) ${id} finished: not every (step|job) succeeded \\(0 succeeded, 0 failed, 3 cancelled of 3\\)$`, 'm'));
    }
    assert.equal(JSON.parse((await runCli(['--json', 'flow', 'cancel', id], { env })).stdout).cancelled, 0, 'nothing left to cancel');
  });

  it('refuses a bad file with a named error and stores nothing', async () => {
    const batch = JSON.parse((await runCli(['--json', 'batch', '-'], { env, input: '[{"task":"cf.num","input":1}]' })).stdout).batch;
    const before = await jobCount();
    const cases: [string[], RegExp, string?][] = [
      [
        [
          'flow',
          file('cycle.json', { steps: { a: { task: 'cf.num', after: ['c'] }, b: { task: 'cf.num', after: ['a'] }, c: { task: 'cf.num', after: ['b'] } } }),
        ],
        /^error INVALID_FLOW: Invalid flow: its steps wait for each other in a cycle \(a, b, c\)\. Nothing was stored\.$/m,
      ],
      [
        ['flow', file('unknown-step.json', { steps: { a: { task: 'cf.num', after: ['nope'] } } })],
        /^error INVALID_FLOW: .*"a" waits for "nope", which is not a step/m,
      ],
      [['flow', file('not-json.json', '{"steps": {')], /^error INVALID_FLOW: Invalid flow: .*not-json\.json is not JSON/m],
      [['flow', file('no-steps.json', { jobs: [] })], /^error INVALID_FLOW: .*unknown field "jobs"/m],
      [
        ['flow', file('inline-option.json', { steps: { a: { task: 'cf.num', priority: 3 } } })],
        /^error INVALID_FLOW: .*step "a" has an unknown field "priority".*go in "options"/m,
      ],
      [['flow', file('bad-option.json', { steps: { a: { task: 'cf.num', options: { prio: 3 } } } })], /^error INVALID_FLOW: .*unknown option "prio"/m],
      [['flow', file('no-task.json', { steps: { a: { input: 1 } } })], /^error INVALID_FLOW: .*step "a" needs a task/m],
      [['flow', file('unknown-task.json', { steps: { a: { task: 'cf.nope' } } })], /^error UNKNOWN_TASK: /m],
      [['flow', file('bad-policy.json', { steps: { a: { task: 'cf.num' } }, onDependencyFailure: 'ignore' })], /^error INVALID_OPTION: .*onDependencyFailure/m],
      [['flow', join(dir.path, 'missing.json')], /^error INVALID_FLOW: .*missing\.json cannot be read/m],
      [['flow', '-'], /^error INVALID_FLOW: .*- is not JSON/m, ''],
      [['flow'], /^error INVALID_OPTION: .*name a JSON file of steps/m],
      [['flow', 'show', batch.id], /^error FLOW_NOT_FOUND: /m],
      [['flow', 'watch', batch.id], /^error FLOW_NOT_FOUND: /m],
      [['flow', 'cancel', '999999'], /^error FLOW_NOT_FOUND: /m],
      [['flow', 'show', 'x'], /^error INVALID_ID: /m],
    ];
    for (const [args, message, input] of cases) {
      const r = await runCli(args, { env, input });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const json = await runCli(['--json', 'flow', file('cycle2.json', { steps: { a: { task: 'cf.num', after: ['a'] } } })], { env });
    assert.equal(JSON.parse(json.stderr).error.code, 'INVALID_FLOW');
    assert.equal(await jobCount(), before, 'no job was stored by any of them');
  });
});
