/**
 * The Java agent client (clients/java, JDK only) against a real `offload start`: compiled once
 * with javac into a temporary directory, then its own tests (JSON codec, client, agent), the
 * README's example agent, and a SIGTERM while a job runs.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AgentServer, api, checkThumbnailAgent, programAvailable, startAgentServer } from '../helpers/agent-server.js';
import { killAll, ROOT, startProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

const javac = programAvailable('javac', ['-version']);
const CLIENT = join(ROOT, 'clients/java');

function sources(dir: string): string[] {
  return readdirSync(join(CLIENT, dir))
    .filter((f) => f.endsWith('.java'))
    .map((f) => join(CLIENT, dir, f));
}

describe('Java agent client', { skip: javac.skip }, () => {
  let server: AgentServer;
  const classes = tempDir('offload-java-');
  const java = (args: string[], env: Record<string, string>) => startProcess('java', ['-cp', classes.path, ...args], env);

  before(async () => {
    assert.ok(javac.ok, 'a JDK (javac) must be installed to test the Java client');
    const [compiled, started] = await Promise.all([
      (async () => {
        const c = startProcess('javac', [
          '-Xlint:all,-try',
          '-Werror',
          '-d',
          classes.path,
          ...sources('src/offload'),
          ...sources('test/offload'),
          ...sources('examples'),
        ]);
        return { ...(await c.exited), out: c.stderr() };
      })(),
      startAgentServer('java.*,images.*'),
    ]);
    server = started;
    assert.equal(compiled.code, 0, compiled.out);
  });
  after(async () => {
    await killAll();
    server?.dispose();
    classes.dispose();
  });

  it('passes its tests (JSON codec, client, agent) against the server', async () => {
    const run = java(['offload.TestRunner', 'offload.JsonTest', 'offload.ClientTest', 'offload.AgentTest'], {
      OFFLOAD_URL: server.url,
      OFFLOAD_WORK_TOKEN: server.tokens.work,
      OFFLOAD_SUBMIT_TOKEN: server.tokens.submit,
      OFFLOAD_ADMIN_TOKEN: server.tokens.admin,
    });
    const { code } = await run.exited;
    const report = run.lines.join('\n');
    assert.equal(code, 0, `${report}\n${run.stderr()}`);
    assert.match(report, /^[1-9]\d* passed, 0 failed$/m);
  });

  it("runs the README's example agent (clients/java/examples/ThumbnailAgent.java), which stops on SIGTERM", async () => {
    const agent = java(['ThumbnailAgent'], { OFFLOAD_URL: server.url, OFFLOAD_TOKEN: server.tokens.work });
    await checkThumbnailAgent(server);
    agent.process.kill('SIGTERM');
    // The JVM's exit status after SIGTERM is 143 (128 + 15), once the shutdown hook has stopped the agent.
    assert.deepEqual(await agent.exited, { code: 143, signal: null }, agent.stderr());
  });

  it('on SIGTERM, the job running in the agent finishes before the JVM exits', async () => {
    const task = 'java.sigterm';
    await api(server.url, server.tokens.admin, 'PUT', `/v1/tasks/${task}`, {});
    const { json } = await api(server.url, server.tokens.submit, 'POST', '/v1/jobs', { task, input: null });
    const agent = java(['offload.SigtermAgent', server.url, server.tokens.work, task], {});
    await agent.waitForLine(/^RUNNING$/);
    agent.process.kill('SIGTERM');
    assert.equal((await agent.exited).code, 143, agent.stderr());
    const job = (await api(server.url, server.tokens.submit, 'GET', `/v1/jobs/${json.job.id}`)).json.job;
    assert.deepEqual([job.state, job.result], ['succeeded', 'finished after SIGTERM']);
  });
});
