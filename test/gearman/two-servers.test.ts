/**
 * Two Offload servers with Gearman ports on one PostgreSQL schema, as a Gearman client that lists
 * both servers (or a load balancer) would use them: a job submitted on one is done by a worker of
 * the other, the waiting client gets the result through the store's change feed, GET_STATUS
 * answers on either, and a worker that dies on one server leaves its job to a worker on the other.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { GearmanServer } from '../../src/gearman/server.js';
import { gearmanWorker, grabJob, idOf, RawPeer, startTestGearman, type TestGearman } from '../helpers/gearman.js';
import { postgresFactory, postgresReady } from '../helpers/postgres.js';
import { killAll, ROOT, startProcess } from '../helpers/processes.js';
import { skipUnless } from '../helpers/tools.js';

const PHP = join(ROOT, 'test/gearman/php');

if (await postgresReady('gearman: two servers on one PostgreSQL database')) {
  describe('gearman: two servers on one PostgreSQL database', () => {
    let a: TestGearman;
    let b: GearmanServer | undefined;
    const peers: RawPeer[] = [];
    afterEach(async () => {
      await killAll();
      for (const p of peers.splice(0)) p.socket.destroy();
      await b?.stop();
      await a?.dispose();
    });

    /** Server A (the test's), and server B: another Offload process on the same schema with its own port. */
    async function twoServers(): Promise<{ portB: number; peerB(): Promise<RawPeer> }> {
      a = await startTestGearman({ offload: { factory: postgresFactory } });
      const other = await a.another();
      b = new GearmanServer(other, silentLogger, { port: 0, handlePrefix: 'H:test', grabLingerMs: 0 });
      await b.start();
      const port = b.address().port;
      return {
        portB: port,
        async peerB() {
          const p = await RawPeer.connect(port);
          peers.push(p);
          return p;
        },
      };
    }

    it('a job submitted on one server is done by a worker of the other; the client and GET_STATUS on both see it through', async () => {
      const { peerB } = await twoServers();
      const client = await a.peer();
      client.send('SUBMIT_JOB', 'shared.resize', 'u-1', 'img');
      const [handle] = await client.expect('JOB_CREATED');

      const workerB = await peerB();
      workerB.send('CAN_DO', 'shared.resize');
      assert.deepEqual(await grabJob(workerB), [handle, 'shared.resize', 'u-1', 'img']);
      workerB.send('WORK_STATUS', handle, '1', '2');
      // The status is stored (at most every 100 ms): a client of either server can ask for it.
      await workerB.sync();
      await a.clock.advance(100);
      const statusOn = async (peer: RawPeer) => {
        for (;;) {
          peer.send('GET_STATUS', handle);
          const s = await peer.expect('STATUS_RES');
          if (s[3] === '1') return s;
        }
      };
      assert.deepEqual(await statusOn(await a.peer()), [handle, '1', '1', '1', '2']);
      assert.deepEqual(await statusOn(await peerB()), [handle, '1', '1', '1', '2']);

      workerB.send('WORK_COMPLETE', handle, 'resized on B');
      // WORK_STATUS went only to clients of B (as documented); the result reaches A's client.
      assert.deepEqual(await client.expect('WORK_COMPLETE'), [handle, 'resized on B']);
      const row = await a.offload.store.getJob({ id: idOf(handle) });
      assert.deepEqual([row!.state, row!.attempt], ['succeeded', 1]);
    });

    it('a worker on one server disconnects mid-job: a worker on the other does it, and the client still gets the result', async () => {
      const { peerB } = await twoServers();
      const client = await a.peer();
      client.send('SUBMIT_JOB', 'shared.work', '', 'payload');
      const [handle] = await client.expect('JOB_CREATED');
      const workerA = await gearmanWorker(a, 'shared.work');
      assert.equal((await grabJob(workerA))[0], handle);

      const workerB = await peerB();
      workerB.send('CAN_DO', 'shared.work');
      workerB.send('GRAB_JOB');
      await workerB.expect('NO_JOB');
      workerB.send('PRE_SLEEP');
      workerA.socket.destroy();
      // The lost attempt counts; its retry waits out the task's backoff (the clock is the test's).
      await workerA.closed;
      await a.clock.advance(60_000);
      await workerB.expect('NOOP');
      assert.equal((await grabJob(workerB))[0], handle);
      workerB.send('WORK_COMPLETE', handle, 'second try');
      assert.deepEqual(await client.expect('WORK_COMPLETE'), [handle, 'second try']);
    });

    it('real PHP processes: a GearmanClient on one server gets the result of a GearmanWorker on the other', { skip: skipUnless('php-gearman') }, async () => {
      const { portB } = await twoServers();
      const worker = startProcess('php', [join(PHP, 'worker.php'), String(portB), 'php-on-b']);
      await worker.waitForLine(/^READY$/);
      const client = startProcess('php', [join(PHP, 'client.php'), String(a.port), 'do', 'normal', 'reverse', 'across servers']);
      const { code } = await client.closed;
      assert.equal(code, 0, client.stderr());
      assert.equal((JSON.parse(client.lines[0]) as { result: string }).result, 'srevres ssorca');
    });
  });
}
