/**
 * The Python agent client (clients/python) against a real `offload start`: its own unittest suite,
 * the README's example agent, and a crash (SIGKILL mid-job) with real processes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AgentServer, api, checkThumbnailAgent, programAvailable, startAgentServer, taskRegistered } from '../helpers/agent-server.js';
import { killAll, ROOT, startProcess } from '../helpers/processes.js';

const python = programAvailable('python3', ['--version']);
const CLIENT = join(ROOT, 'clients/python');

describe('Python agent client', { skip: python.skip }, () => {
  let server: AgentServer;
  const pythonEnv = () => ({ PYTHONPATH: CLIENT, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' });

  before(async () => {
    assert.ok(python.ok, 'python3 must be installed to test the Python client');
    server = await startAgentServer('py.*,images.*');
  });
  after(async () => {
    await killAll();
    server?.dispose();
  });

  it('passes its unittest suite against the server', async () => {
    const suite = startProcess('python3', ['-m', 'unittest', 'discover', '-s', join(CLIENT, 'tests'), '-t', join(CLIENT, 'tests'), '-v'], {
      ...pythonEnv(),
      PYTHONPATH: `${CLIENT}:${join(CLIENT, 'tests')}`,
      OFFLOAD_URL: server.url,
      OFFLOAD_WORK_TOKEN: server.tokens.work,
      OFFLOAD_SUBMIT_TOKEN: server.tokens.submit,
      OFFLOAD_ADMIN_TOKEN: server.tokens.admin,
    });
    const { code } = await suite.exited;
    const report = suite.stderr();
    assert.equal(code, 0, report);
    assert.match(report, /^OK$/m);
    assert.doesNotMatch(report, /skipped/, 'no test was skipped');
  });

  it("runs the README's example agent (clients/python/examples/agent.py), which stops on SIGTERM", async () => {
    const agent = startProcess('python3', [join(CLIENT, 'examples/agent.py')], { ...pythonEnv(), OFFLOAD_URL: server.url, OFFLOAD_TOKEN: server.tokens.work });
    await checkThumbnailAgent(server);
    agent.process.kill('SIGTERM');
    assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.stderr());
  });

  it("an agent killed with SIGKILL mid-job: the job is claimed again after its lease, completes once, and the dead agent's complete is refused", async () => {
    const log = join(server.dir, 'handler.log');
    const crashAgent = (mode: string) =>
      startProcess('python3', [join(CLIENT, 'tests/crash_agent.py'), server.url, server.tokens.work, 'py.crash', mode], { ...pythonEnv(), HANDLER_LOG: log });
    const doomed = crashAgent('hang');
    await taskRegistered(server, 'py.crash');
    const { json } = await api(server.url, server.tokens.submit, 'POST', '/v1/jobs', { task: 'py.crash', input: { n: 1 } });
    const id = json.job.id as string;
    const [, startedId, deadToken] = (await doomed.waitForLine(/^STARTED /)).split(' ');
    assert.equal(startedId, id);
    await doomed.kill('SIGKILL');

    crashAgent('finish');
    const finished = await api(server.url, server.tokens.submit, 'GET', `/v1/jobs/${id}?wait=30`);
    assert.equal(finished.status, 200, 'finished within the wait');
    const job = finished.json.job;
    assert.deepEqual([job.state, job.attempt, job.result], ['succeeded', 2, { finishedOnAttempt: 2 }]);
    assert.equal(job.errors[0].code, 'LEASE_EXPIRED');
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [`start ${id} 1`, `start ${id} 2`, `done ${id}`], 'ran twice, finished once');

    // The dead agent's completion, with its stale lease token, arrives late: refused.
    const stale = await api(server.url, server.tokens.work, 'POST', `/v1/jobs/${id}/complete`, { leaseToken: deadToken, result: 'late' });
    assert.deepEqual([stale.status, stale.json.error.code, stale.json.error.details.state], [409, 'LEASE_LOST', 'succeeded']);
    assert.deepEqual((await api(server.url, server.tokens.submit, 'GET', `/v1/jobs/${id}`)).json.job.result, { finishedOnAttempt: 2 });
  });
});
