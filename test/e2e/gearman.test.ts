/**
 * `offload start` with its Gearman port, as real processes: the start banner, the allow-list rule
 * for remote addresses, and a background job submitted with the `gearman` command surviving a
 * kill -9 of the server.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { Offload } from '../../src/index.js';
import { type Child, CLI, killAll, runCli, startNode, startProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';
import { skipUnless } from '../helpers/tools.js';

async function startServer(url: string, ...args: string[]): Promise<{ child: Child; port: number; banner: string }> {
  const child = startNode([CLI, '--store', url, 'start', ...args]);
  const banner = await child.waitForLine(/^Gearman on /);
  await child.waitForLine(/^Stop with Ctrl-C/);
  return { child, port: Number(/:(\d+) \(/.exec(banner)![1]), banner };
}

/** The first address of this machine that is not loopback, if it has one. */
function externalIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe('offload start: the Gearman port', { skip: skipUnless('gearman') }, () => {
  const dirs: { path: string; dispose(): void }[] = [];
  afterEach(async () => {
    await killAll();
    for (const d of dirs.splice(0)) d.dispose();
  });
  const store = () => {
    const d = tempDir();
    dirs.push(d);
    return `sqlite:${join(d.path, 'offload.db')}`;
  };

  it('says where it listens; a background job from the gearman command survives kill -9 of the server', async () => {
    const url = store();
    const first = await startServer(url, '--gearman', '127.0.0.1:0');
    assert.match(first.banner, /^Gearman on 127\.0\.0\.1:\d+ \(this machine only\)$/);
    const submit = startProcess('gearman', ['-h', '127.0.0.1', '-p', String(first.port), '-v', '-b', '-f', 'durable.job', 'keep me']);
    const handle = /Task created: (H:\S+)/.exec(await submit.waitForLine(/Task created/))![1];
    await submit.exited;
    await first.child.kill('SIGKILL');

    const second = await startServer(url, '--gearman', '127.0.0.1:0');
    const worker = startProcess('gearman', ['-h', '127.0.0.1', '-p', String(second.port), '-w', '-c', '1', '-f', 'durable.job', '--', 'tr', 'a-z', 'A-Z']);
    assert.equal((await worker.exited).code, 0);
    const offload = await Offload.open({ store: url, logger: silentLogger });
    try {
      const job = await offload.getJob(handle.split(':').pop()!);
      assert.deepEqual([job.state, job.result], ['succeeded', Buffer.from('KEEP ME')]);
    } finally {
      await offload.close();
    }
  });

  it('refuses a non-loopback address without an allow-list, and admits only the listed networks with one', async () => {
    const url = store();
    const refused = await runCli(['--store', url, 'start', '--gearman', '0.0.0.0:0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /INVALID_OPTION.*Gearman has no authentication.*--gearman-allow/s);

    const open = await startServer(url, '--gearman', '0.0.0.0:0', '--gearman-allow', '203.0.113.0/24');
    assert.match(
      open.banner,
      /^Gearman on 0\.0\.0\.0:\d+ \(connections from 203\.0\.113\.0\/24 and this machine only: Gearman has no authentication, peers are admitted by address\)$/,
    );
    const echo = (host: string) =>
      new Promise<string>((resolve) => {
        const s = connect(open.port, host, () => s.write('version\n'));
        let got = '';
        s.setEncoding('utf8').on('data', (d) => {
          got += d;
          s.end();
        });
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
      });
    assert.match(await echo('127.0.0.1'), /^OK offload-/, 'this machine is always admitted');
    const external = externalIPv4();
    if (external && !external.startsWith('203.0.113.')) assert.equal(await echo(external), '', `a peer at ${external}, outside 203.0.113.0/24, is cut off`);
  });

  it('can be turned off', async () => {
    const child = startNode([CLI, '--store', store(), 'start', '--gearman', 'off']);
    await child.waitForLine(/^Stop with Ctrl-C/);
    assert.ok(!child.lines.some((l) => l.startsWith('Gearman')));
  });
});
