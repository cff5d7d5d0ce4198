/** Dashboard sessions: random ids, idle expiry, forgotten with their token; the cookie parsed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DashboardSessions, SESSION_COOKIE, sessionIdOf } from '../../src/http/sessions.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

describe('dashboard sessions', () => {
  it('ends a session unused for the idle time, and keeps one in use', async () => {
    const clock = new ManualClock();
    const sessions = new DashboardSessions(clock, 1000);
    const used = sessions.create('hash-a');
    const idle = sessions.create('hash-a');
    assert.notEqual(used.id, idle.id);
    assert.notEqual(used.csrf, used.id);
    await clock.advance(800);
    assert.equal(sessions.use(used.id)?.tokenHash, 'hash-a');
    await clock.advance(800);
    assert.equal(sessions.use(used.id)?.id, used.id, 'its idle time started again');
    assert.equal(sessions.use(idle.id), undefined);
  });

  it('forgets every session of a token, and a deleted one', () => {
    const sessions = new DashboardSessions(new ManualClock());
    const a = sessions.create('hash-a');
    const b = sessions.create('hash-a');
    const c = sessions.create('hash-c');
    sessions.deleteToken('hash-a');
    assert.equal(sessions.use(a.id), undefined);
    assert.equal(sessions.use(b.id), undefined);
    sessions.delete(c.id);
    assert.equal(sessions.size, 0);
  });

  it('reads its id from a Cookie header among others', () => {
    assert.equal(sessionIdOf(`a=1; ${SESSION_COOKIE}=abc_-9; b=2`), 'abc_-9');
    assert.equal(sessionIdOf('a=1'), undefined);
    assert.equal(sessionIdOf(`${SESSION_COOKIE}=`), undefined);
    assert.equal(sessionIdOf(undefined), undefined);
  });
});
