/**
 * `offload start --config FILE --smtp URL` as a process: a pushed job that its endpoint refuses
 * (422) fails for good, and a rule saved over the HTTP API e-mails it, through the SMTP server
 * the flag names, to a real SMTP server started here.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startEndpoint } from '../helpers/endpoints.js';
import { CLI, killAll, startNode } from '../helpers/processes.js';
import { SECRET } from '../helpers/push.js';
import { tempDir } from '../helpers/stores.js';
import { startSmtp } from '../rules/helpers.js';

describe('offload start with a push group and a rule that sends e-mail', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    await killAll();
    for (const c of cleanups.splice(0)) await c();
  });

  it('e-mails the job an endpoint refused, through --smtp', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.dispose());
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const endpoint = await startEndpoint((_req, res) => res.writeHead(422).end('no such report'));
    cleanups.push(() => endpoint.close());
    const config = join(dir.path, 'offload.json');
    writeFileSync(
      config,
      JSON.stringify({
        endpointGroups: [{ name: 'reports', tasks: ['report.build'], secret: SECRET, endpoints: [{ url: endpoint.url }], allowAddresses: ['127.0.0.1'] }],
      }),
    );
    const server = startNode(
      [CLI, 'start', '--config', config, '--smtp', `smtp://127.0.0.1:${smtp.port}?from=offload@example.com`, '--http', '127.0.0.1:0', '--gearman', 'off'],
      { OFFLOAD_STORE: `sqlite:${join(dir.path, 'o.db')}` },
    );
    const api = (await server.waitForLine(/^HTTP API on /)).split(' ')[3]!;
    await server.waitForLine(/^Stop with Ctrl-C/);
    const call = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as any };
    };
    const rule = await call('PUT', '/v1/rules/refused-reports', {
      on: { event: 'job.dead' },
      tasks: ['report.*'],
      action: { type: 'email', to: 'ops@example.com' },
    });
    assert.equal(rule.status, 200, JSON.stringify(rule.json));
    const posted = await call('POST', '/v1/jobs?wait=30', { task: 'report.build', input: { month: '2026-11' } });
    assert.equal(posted.json.job.state, 'failed');
    const mail = await smtp.nth(1);
    assert.deepEqual(mail.rcptTo, ['ops@example.com']);
    assert.ok(mail.text.includes(posted.json.job.id), 'the message names the job');
    assert.match(mail.text, /PUSH_REJECTED/);
  });
});
