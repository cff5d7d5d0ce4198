/** The rules examples run as the guide tells users to run them: examples/rules.ts against a real SMTP server started here, and examples/rule-cli.sh. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { CLI, killAll, ROOT, startNode, startProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';
import { startSmtp, type TestSmtp } from './helpers.js';

describe('rules examples', () => {
  const dirs: { dispose(): void }[] = [];
  const servers: TestSmtp[] = [];
  afterEach(async () => {
    await killAll();
    await Promise.all(servers.splice(0).map((s) => s.close()));
    for (const d of dirs.splice(0)) d.dispose();
  });

  it('rules.ts: a billing job that fails for good sets off a signed webhook and an e-mail', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const smtp = await startSmtp();
    servers.push(smtp);
    const run = startNode([join(ROOT, 'dist/examples/rules.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'rules.db')}`, SMTP_PORT: String(smtp.port) });
    const mail = await smtp.nth(1);
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    const out = run.lines.join('\n');
    assert.match(out, /^webhook: job \d+ of billing\.charge failed for good: card declined$/m);
    assert.match(out, /^the job: true card declined$/m);
    assert.match(out, /^rule backlog task\.backlog enqueue active$/m);
    assert.match(out, /^rule billing-dead-hook job\.dead webhook active$/m);
    assert.deepEqual(mail.rcptTo, ['billing-ops@example.com']);
    assert.match(mail.subject, /^Billing: job \d+ of billing\.charge failed for good: card declined$/);
  });

  it('rule-cli.sh saves, lists, pauses, resumes, shows and removes rules', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'cli.db')}`, OFFLOAD: `${process.execPath} ${CLI}` };
    const child = startProcess('sh', [join(ROOT, 'examples', 'rule-cli.sh')], env);
    const { code } = await child.closed;
    assert.equal(code, 0, child.stderr());
    const out = child.lines.join('\n');
    assert.match(out, /^rule billing-dead {2}active$/m);
    assert.match(out, /^billing-dead\s+job\.dead\s+billing\.\*\s+email oncall@example\.com\s+active$/m);
    assert.match(out, /^slow-queue\s+task\.oldest-queued \(olderThanMs=600000\)\s+\*\s+webhook https:\/\/hooks\.example\.com\/offload\s+active$/m);
    assert.match(out, /^rule slow-queue {2}paused$/m);
    assert.match(out, /^no alert is firing$/m);
    assert.match(out, /^removed rule "billing-dead"$/m);
  });
});
