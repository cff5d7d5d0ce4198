/**
 * `offload start --config FILE` as a process: the file's endpoint group is saved, the server pushes
 * its jobs, and an endpoint that answers 202 reports through the callback URL the push carried,
 * which is the server's own HTTP API.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { verifyRequestSignature } from '../../src/signing/request-signature.js';
import { startEndpoint, type TestEndpoint } from '../helpers/endpoints.js';
import { CLI, killAll, startNode } from '../helpers/processes.js';
import { SECRET } from '../helpers/push.js';
import { tempDir } from '../helpers/stores.js';

describe('offload start with endpoint groups', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    await killAll();
    for (const c of cleanups.splice(0)) await c();
  });

  it('pushes the jobs of a group from its config file, and takes the callbacks of an accepted one', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.dispose());
    const endpoint: TestEndpoint = await startEndpoint((req, res) => {
      verifyRequestSignature({ secrets: SECRET, header: String(req.headers['offload-signature']), body: req.body });
      res.writeHead(202).end();
      const { url, token } = req.json.callback;
      const post = (type: string, body: unknown) =>
        fetch(`${url}/${type}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'offload-callback-token': token },
          body: JSON.stringify(body),
        });
      void post('progress', { done: 1, total: 2 }).then(() => post('complete', { result: { rendered: req.json.input.page } }));
    });
    cleanups.push(() => endpoint.close());
    const config = join(dir.path, 'offload.json');
    writeFileSync(
      config,
      JSON.stringify({
        endpointGroups: [{ name: 'render', tasks: ['page.render'], secret: SECRET, endpoints: [{ url: endpoint.url }], allowAddresses: ['127.0.0.1'] }],
      }),
    );
    const server = startNode([CLI, 'start', '--config', config, '--http', '127.0.0.1:0', '--gearman', 'off'], {
      OFFLOAD_STORE: `sqlite:${join(dir.path, 'o.db')}`,
    });
    const api = (await server.waitForLine(/^HTTP API on /)).split(' ')[3]!;
    await server.waitForLine(/^Push: group render \(round-robin, 1 endpoint\(s\)\) runs page\.render$/);
    await server.waitForLine(/^Stop with Ctrl-C/);
    const posted = await fetch(`${api}/v1/jobs?wait=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'page.render', input: { page: 3 } }),
    });
    const { job } = (await posted.json()) as { job: { state: string; result: unknown; progress: unknown } };
    assert.equal(job.state, 'succeeded');
    assert.deepEqual(job.result, { rendered: 3 });
    assert.equal(endpoint.received[0].json.callback.url.startsWith(`${api}/v1/push/jobs/`), true);
  });
});
