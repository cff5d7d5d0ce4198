/**
 * A worker whose machine dies (or drops off the network) sends nothing more, not even a FIN. The
 * port's TCP keepalive finds out, closes the connection, and the job goes back to the queue for
 * another worker. The dead machine is a real PHP GearmanWorker in a network namespace of its own,
 * whose link is then cut: the kernel answers nothing for it any more.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/core/errors.js';
import { type Logger, silentLogger } from '../../src/core/logger.js';
import { GearmanServer } from '../../src/gearman/server.js';
import { RawPeer as Peer, type RawPeer } from '../helpers/gearman.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';
import { skipUnless } from '../helpers/tools.js';

/** A network namespace joined to this one by a veth pair: `host` here, `peer` there. */
interface Namespace {
  name: string;
  hostIp: string;
  subnet: string;
  cut(): void;
  remove(): void;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** Namespaces left by a run that was killed before its cleanup (its pid is in the name). */
function removeStaleNamespaces(): void {
  const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const [, name, pid] of names.matchAll(/^(oka(\d+)-ns)\b/gm)) {
    if (isAlive(Number(pid))) continue;
    spawnSync('ip', ['netns', 'del', name]);
    spawnSync('ip', ['link', 'del', `oka${pid}a`]);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function createNamespace(): Namespace {
  removeStaleNamespaces();
  const tag = `oka${process.pid}`; // interface names: at most 15 characters
  const [name, hostIf, peerIf] = [`${tag}-ns`, `${tag}a`, `${tag}b`];
  const octet = process.pid % 250;
  const [hostIp, peerIp, subnet] = [`10.231.${octet}.1`, `10.231.${octet}.2`, `10.231.${octet}.0/30`];
  ip('netns', 'add', name);
  try {
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    ip('link', 'set', peerIf, 'netns', name);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${peerIp}/30`, 'dev', peerIf);
    ip('netns', 'exec', name, 'ip', 'link', 'set', peerIf, 'up');
  } catch (err) {
    spawnSync('ip', ['netns', 'del', name]);
    throw err;
  }
  return {
    name,
    hostIp,
    subnet,
    cut: () => ip('link', 'set', hostIf, 'down'),
    remove: () => {
      spawnSync('ip', ['netns', 'del', name]);
      spawnSync('ip', ['link', 'del', hostIf]);
    },
  };
}

/** The suite's namespace, or why it cannot be made here (no PHP gearman; not root, no CAP_NET_ADMIN). */
function namespaceOrReason(): Namespace | string {
  const missing = skipUnless('php-gearman');
  if (missing) return missing;
  try {
    return createNamespace();
  } catch (err) {
    return `needs network namespaces (root, CAP_NET_ADMIN): ${(err as Error).message}`;
  }
}

/** A logger that tells when a warning matching `re` is logged. */
function recordingLogger(): Logger & { warned(re: RegExp): Promise<void> } {
  const warnings: string[] = [];
  const waiting: { re: RegExp; resolve(): void }[] = [];
  return {
    debug() {},
    info() {},
    error() {},
    warn(_obj: object, msg?: string) {
      warnings.push(msg ?? '');
      for (const w of waiting.filter((w) => w.re.test(msg ?? ''))) w.resolve();
    },
    warned: (re) =>
      warnings.some((w) => re.test(w))
        ? Promise.resolve()
        : new Promise((resolve) => {
            waiting.push({ re, resolve });
          }),
  };
}

const made = namespaceOrReason();

describe('gearman: a worker whose machine dies', { skip: typeof made === 'string' ? made : false, timeout: 60_000 }, () => {
  const ns = made as Namespace;
  let t: TestOffload;
  let server: GearmanServer;
  const logger = recordingLogger();
  const procs: ChildProcess[] = [];
  const peers: RawPeer[] = [];

  before(async () => {
    t = await openTestOffload();
    server = new GearmanServer(t.offload, logger, { host: ns.hostIp, port: 0, allow: [ns.subnet], handlePrefix: 'H:test', grabLingerMs: 0, keepAliveMs: 1000 });
    await server.start();
  });

  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    for (const p of peers) p.socket.destroy();
    await server?.stop();
    await t?.dispose();
    ns.remove();
  });

  const peer = async () => {
    const p = await Peer.connect(server.address().port, ns.hostIp);
    peers.push(p);
    return p;
  };

  it('is dropped by keepalive probes; its job goes to another worker and the waiting client gets the result', async () => {
    const client = await peer();
    client.send('SUBMIT_JOB', 'ka.work', '', 'payload');
    const [handle] = await client.expect('JOB_CREATED');

    // A PHP worker on the other machine takes the job, says so, and works on it for a long time.
    // (Its WORK_STATUS also acknowledges the JOB_ASSIGN: with data unacknowledged, TCP's
    // retransmission timeout would decide instead of the keepalive probes.)
    const php = `$w = new GearmanWorker(); $w->addServer('${ns.hostIp}', ${server.address().port});
      $w->addFunction('ka.work', function ($job) { $job->sendStatus(1, 2); sleep(120); exit(0); }); $w->work();`;
    // (`ip netns exec` becomes php: killing it kills the worker; orphaned, it is gone within two minutes.)
    procs.push(spawn('ip', ['netns', 'exec', ns.name, 'php', '-r', php], { stdio: 'ignore' }));
    assert.deepEqual(await client.expect('WORK_STATUS'), [handle, '1', '2']);
    assert.equal((await t.offload.getJob(handle.split(':').pop()!)).state, 'running');

    // A local worker waits for work.
    const local = await peer();
    local.send('CAN_DO', 'ka.work');
    local.send('GRAB_JOB');
    await local.expect('NO_JOB');
    local.send('PRE_SLEEP');

    // The machine drops off the network: no FIN, no RST, nothing.
    ns.cut();
    await logger.warned(/stopped answering/);
    // The lost attempt counts, and the retry waits out the task's backoff (the test's clock is manual).
    await t.clock.advance(60_000);
    await local.expect('NOOP');
    local.send('GRAB_JOB');
    assert.deepEqual(await local.expect('JOB_ASSIGN'), [handle, 'ka.work', 'payload']);
    local.send('WORK_COMPLETE', handle, 'done here');
    assert.deepEqual(await client.expect('WORK_COMPLETE'), [handle, 'done here']);
    const job = await t.offload.getJob(handle.split(':').pop()!);
    assert.deepEqual([job.state, job.attempt], ['succeeded', 2]);
  });
});

describe('gearman keepalive option', () => {
  it('refuses a keepalive that is neither 0 nor at least a second, saying what it takes', async () => {
    const t = await openTestOffload();
    try {
      for (const keepAliveMs of [-1, 1, 999, 1500.5]) {
        assert.throws(
          () => new GearmanServer(t.offload, silentLogger, { port: 0, keepAliveMs }),
          (e: unknown) => e instanceof InvalidOptionError && /0 \(no keepalive probes\) or a whole number of milliseconds from 1000 up/.test(e.message),
        );
      }
      for (const keepAliveMs of [0, 1000, 30_000]) new GearmanServer(t.offload, silentLogger, { port: 0, keepAliveMs });
    } finally {
      await t.dispose();
    }
  });
});
