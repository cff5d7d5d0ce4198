/** `offload dashboard` and `offload start` serve the dashboard at / on the API's port; `--no-dashboard` does not. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DASHBOARD_CSP } from '../../src/dashboard/headers.js';
import { CLI, killAll, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

describe('the dashboard from the command line', () => {
  const dir = tempDir();
  const store = `sqlite:${join(dir.path, 'offload.db')}`;
  after(async () => {
    await killAll();
    dir.dispose();
  });

  const served = async (args: string[], line: RegExp) => {
    const child = startNode([CLI, '--store', store, ...args]);
    const url = /(http:\/\/[^\s/]+)/.exec(await child.waitForLine(line))![1]!;
    return { child, url };
  };

  it('offload dashboard serves the page and the API against a store, and stops on SIGTERM', async () => {
    const { child, url } = await served(['dashboard', '--listen', '127.0.0.1:0'], /^Offload dashboard on /);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), DASHBOARD_CSP);
    assert.match(await page.text(), /<script type="module" src="\/assets\/app-/);
    assert.equal(((await (await fetch(`${url}/v1/health`)).json()) as any).ok, true);
    assert.deepEqual(((await (await fetch(`${url}/v1/workers`)).json()) as any).workers, [], 'no worker runs here');
    assert.equal((await child.kill('SIGTERM')).code, 0);
  });

  it('offload start serves it at / unless --no-dashboard', async () => {
    const on = await served(['start', '--gearman', 'off'], /^Dashboard on /);
    assert.equal((await fetch(`${on.url}/jobs`)).status, 200);
    assert.equal((await on.child.kill('SIGTERM')).code, 0);
    const off = await served(['start', '--gearman', 'off', '--no-dashboard'], /^HTTP API on /);
    const r = await fetch(`${off.url}/`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as any).error.code, 'ROUTE_NOT_FOUND');
    assert.equal((await off.child.kill('SIGTERM')).code, 0);
  });
});
