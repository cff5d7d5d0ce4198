/**
 * The CLI's progress display in a real terminal: `offload batch FILE --wait`, `offload flow FILE
 * --wait` and `offload submit --wait` run in a tmux pane; the test lets the jobs go a step at a time (each waits for a file the
 * test writes) and reads the screen until it shows what it should: the bar part-way, then full,
 * then the outcome. In a pipe the same commands print plain lines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { CLI, INDEX, killAll, runCli, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';
import { skipUnless } from '../helpers/tools.js';

const skip = skipUnless('tmux');

describe('CLI progress in a terminal', { skip }, () => {
  const dir = tempDir();
  const url = `sqlite:${join(dir.path, 'progress.db')}`;
  const env = { OFFLOAD_STORE: url };
  const tasks = join(dir.path, 'gated.mjs');
  const socket = `offload-test-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  /** Lets the jobs (or steps) with these numbers go. */
  const release = (...ns: number[]) => {
    for (const n of ns) writeFileSync(join(dir.path, `go-${n}`), '');
  };
  const screen = (pane: string) => tmux('capture-pane', '-p', '-t', pane).stdout;
  const until = (pane: string, re: RegExp, what: string) => eventually(() => re.test(screen(pane)), `${what} on screen:\n${screen(pane)}`, 30_000);

  before(async () => {
    writeFileSync(
      tasks,
      `import { existsSync } from 'node:fs';
import { defineTask } from ${JSON.stringify(INDEX)};
const gate = (n) => new Promise((resolve) => { const look = () => existsSync(${JSON.stringify(dir.path)} + '/go-' + n) ? resolve() : setTimeout(look, 10); look(); });
export const step = defineTask('gate.step', async (n) => { await gate(n); return n; });
export const long = defineTask('gate.long', async (input, ctx) => {
  for (let i = 1; i <= 4; i++) { await gate(100 + i); ctx.progress(i, 4, 'part ' + i); }
  return 'all parts';
});
`,
    );
    const worker = startNode([CLI, 'worker', tasks, '--concurrency', '1'], env);
    await worker.waitForLine(/^worker /);
  });
  after(async () => {
    tmux('kill-server');
    await killAll();
    dir.dispose();
  });

  /** Runs an offload command in a fresh 100×20 pane; its exit code is printed after it. */
  function inTerminal(name: string, args: string[]): string {
    const command = [process.execPath, CLI, '--store', url, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '20', `${command}; echo "EXIT $?"; sleep 600`);
    assert.equal(r.status, 0, r.stderr);
    return name;
  }

  it('draws a bar for offload batch --wait that moves as jobs finish, and ends with the outcome', async () => {
    const file = join(dir.path, 'batch.json');
    writeFileSync(file, JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ task: 'gate.step', input: i + 1 }))));
    const pane = inTerminal('batch', ['batch', file, '--wait']);
    release(1, 2, 3);
    await until(pane, /^batch \d+ \[#{7}-{17}\] 3\/10/m, 'the bar at 3 of 10');
    release(4, 5, 6, 7, 8, 9, 10);
    await until(pane, /^EXIT 0$/m, 'the exit code');
    const text = screen(pane);
    assert.match(text, /^batch \d+ \[#{24}\] 10\/10/m, 'the bar full, left on its line');
    assert.match(text, /^batch \d+ finished: every job succeeded \(10 succeeded, 0 failed, 0 cancelled of 10\)$/m);
    assert.doesNotMatch(text, /3\/10/, 'the bar was drawn over in place, not printed again below');
  });

  it('draws the same bar for offload flow --wait as its steps finish one after another, and ends with the outcome', async () => {
    const file = join(dir.path, 'flow.json');
    const gate = (n: number, after?: string[]) => ({ task: 'gate.step', input: n, after });
    writeFileSync(
      file,
      JSON.stringify({
        steps: { join: gate(305, ['a', 'b', 'c']), a: gate(302, ['start']), b: gate(303, ['start']), c: gate(304, ['start']), start: gate(301) },
      }),
    );
    const pane = inTerminal('flow', ['flow', file, '--wait']);
    release(301);
    await until(pane, /^flow \d+ \[#{5}-{19}\] 1\/5/m, 'the bar at 1 of 5 (the first step done, the others waiting for it)');
    release(302, 303, 304);
    await until(pane, /^flow \d+ \[#{19}-{5}\] 4\/5/m, 'the bar at 4 of 5 (the join step waiting)');
    release(305);
    await until(pane, /^EXIT 0$/m, 'the exit code');
    const text = screen(pane);
    assert.match(text, /^flow \d+ \[#{24}\] 5\/5/m, 'the bar full, left on its line');
    assert.match(text, /^flow \d+ finished: every step succeeded \(5 succeeded, 0 failed, 0 cancelled of 5\)$/m);
    assert.doesNotMatch(text, /[14]\/5/, 'the bar was drawn over in place');
  });

  it('shows the progress a handler reports for offload submit --wait', async () => {
    const pane = inTerminal('submit', ['submit', 'gate.long', 'null', '--wait']);
    release(101, 102);
    await until(pane, /^job \d+ \[#{12}-{12}\] 2\/4 {2}part 2/m, 'half the steps');
    release(103, 104);
    await until(pane, /^EXIT 0$/m, 'the exit code');
    const text = screen(pane);
    assert.match(text, /^job \d+ \[#{24}\] 4\/4 {2}part 4/m);
    assert.match(text, /^ {2}result {6}all parts$/m);
  });

  it('prints plain lines instead when the output is not a terminal', async () => {
    const file = join(dir.path, 'piped.json');
    writeFileSync(file, JSON.stringify([200, 201].map((n) => ({ task: 'gate.step', input: n }))));
    release(200, 201);
    const r = await runCli(['batch', file, '--wait'], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const sign of ['\u001b', '\r', '[#']) assert.ok(!r.stdout.includes(sign), `no escape codes, no bar (${JSON.stringify(sign)})`);
    assert.match(r.stdout, /^batch \d+ finished: every job succeeded \(2 succeeded, 0 failed, 0 cancelled of 2\)$/m);
  });
});
