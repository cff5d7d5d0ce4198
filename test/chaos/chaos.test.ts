/**
 * Two scenarios of `npm run chaos`, short, inside `npm test`: real server, worker processes and a
 * Python agent, a producer that records every acknowledged submit, and the checker's verdict.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEASE_MS } from '../../chaos/cluster.js';
import { runScenario, type ScenarioResult } from '../../chaos/scenario.js';
import { scenario } from '../../chaos/scenarios.js';
import { postgresReady } from '../helpers/postgres.js';

function assertNothingLost(r: ScenarioResult): void {
  const facts = JSON.stringify(r);
  assert.ok(r.acked > 500, facts);
  assert.equal(r.lost, 0, `acknowledged jobs lost: ${facts}`);
  assert.equal(r.unfinished, 0, `acknowledged jobs never finished: ${facts}`);
  assert.equal(r.duplicateSubmits, 0, `submits stored twice: ${facts}`);
  assert.equal(r.ranAgainUnexplained, 0, `jobs run again without a lost lease: ${facts}`);
  assert.equal(r.attemptRunTwice, 0, `one attempt run by two workers: ${facts}`);
  for (const kind of ['server', 'worker', 'agent']) assert.ok((r.runsByKind[kind] ?? 0) > 0, `the ${kind} ran jobs: ${facts}`);
}

const pg = await postgresReady('chaos, short, on PostgreSQL');

describe('chaos, short', () => {
  it('a worker process SIGKILLed mid-job on PostgreSQL: nothing lost, its jobs come back after their lease, nothing run twice without cause', {
    skip: !pg && 'PostgreSQL is not reachable',
  }, async () => {
    const r = await runScenario(scenario('worker-kill', 'postgres'), { short: true });
    assertNothingLost(r);
    assert.ok(!r.notes.some((n) => n.includes('held no job')), 'the worker was killed while it held a job');
    // The jobs the killed worker held (running, or claimed and not started) came back once their lease expired.
    assert.ok((r.endToEndMaxMs ?? 0) >= LEASE_MS - 1000, `a job waited for the dead worker's lease: ${JSON.stringify(r)}`);
  });

  it('the server SIGKILLed mid-burst on SQLite: every acknowledged submit is there, none stored twice, work goes on after the restart', async () => {
    const r = await runScenario(scenario('server-kill', 'sqlite'), { short: true });
    assertNothingLost(r);
    assert.ok((r.submitRetries.ECONNREFUSED ?? 0) > 0, `the producer found the server down and sent again: ${JSON.stringify(r.submitRetries)}`);
  });
});
