// Two servers on one PostgreSQL store push the same group: the caps are the store's, so they hold
// across both, and both dispatch.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEndpoint, type TestEndpoint } from '../helpers/endpoints.js';
import { postgresReady } from '../helpers/postgres.js';
import { groupOf, openPush, type PushFixture } from '../helpers/push.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';

if (await postgresReady('push caps across two servers on PostgreSQL')) {
  describe('push caps across two servers on PostgreSQL', () => {
    let t: PushFixture;
    let e: TestEndpoint;
    let f: TestEndpoint;
    before(async () => {
      t = await openPush();
      const slow = async (_req: unknown, res: import('node:http').ServerResponse) => {
        await new Promise((r) => setTimeout(r, 20));
        res.writeHead(200).end();
      };
      e = await startEndpoint(slow);
      f = await startEndpoint(slow);
    });
    after(async () => {
      await t.dispose();
      await Promise.all([e.close(), f.close()]);
    });

    it('never has more outstanding at an endpoint, or in the group, than its cap', async () => {
      const second = await t.another();
      await t.offload.push.saveGroup(
        groupOf(
          'shared',
          [
            { url: e.url, concurrency: 3 },
            { url: f.url, concurrency: 10 },
          ],
          { concurrency: 5 },
        ),
      );
      const sent = [0, 0];
      t.offload.on('push:sent', () => sent[0]++);
      second.on('push:sent', () => sent[1]++);
      await Promise.all([t.offload.push.start({ callbackBaseUrl: null }), second.push.start({ callbackBaseUrl: null })]);
      let most = 0;
      const watch = setInterval(() => {
        most = Math.max(most, e.inFlight + f.inFlight);
      }, 1);
      const jobs = await Promise.all(Array.from({ length: 80 }, (_, i) => t.offload.enqueue('shared.job', { i })));
      await Promise.all(jobs.map((j) => j.result({ timeoutMs: 60_000 })));
      clearInterval(watch);
      assert.ok(e.maxInFlight <= 3, `the endpoint capped at 3 had ${e.maxInFlight} at once`);
      assert.ok(most <= 5, `the group capped at 5 had ${most} at once`);
      assert.ok(sent[0] > 0 && sent[1] > 0, `both servers dispatched (${sent.join(' and ')})`);
      assert.equal(e.received.length + f.received.length, 80);
    });
  });
}
