/** Dashboard sessions: random ids kept as hashes in the store, idle expiry, forgotten with their token; the cookie parsed. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DashboardSessions, SESSION_COOKIE, sessionIdOf } from '../../src/http/sessions.js';
import type { Store } from '../../src/store/store.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { type StoreFixture, sqliteFactory } from '../helpers/stores.js';

describe('dashboard sessions', () => {
  let fixture: StoreFixture;
  let store: Store;
  beforeEach(async () => {
    fixture = await sqliteFactory();
    store = await fixture.open();
  });
  afterEach(async () => {
    await store.close();
    await fixture.dispose();
  });

  it('ends a session unused for the idle time, and keeps one in use', async () => {
    const clock = new ManualClock();
    const sessions = new DashboardSessions(store, clock, { idleMs: 1000 });
    const used = await sessions.create('hash-a');
    const idle = await sessions.create('hash-a');
    assert.notEqual(used.id, idle.id);
    assert.notEqual(used.csrf, used.id);
    assert.notEqual(used.csrf, idle.csrf);
    await clock.advance(800);
    assert.equal((await sessions.use(used.id))?.tokenHash, 'hash-a');
    await clock.advance(800);
    assert.equal((await sessions.use(used.id))?.csrf, used.csrf, 'its idle time started again; its CSRF value is the same');
    assert.equal(await sessions.use(idle.id), undefined);
    assert.equal(await sessions.use('not-a-session'), undefined);
  });

  it('keeps hashes only: the stored row holds neither the session id nor its CSRF value, and another server knows the session', async () => {
    const sessions = new DashboardSessions(store, new ManualClock());
    const s = await sessions.create('hash-a');
    const db = new Database(fixture.url.slice('sqlite:'.length), { readonly: true });
    try {
      const rows = db.prepare('SELECT * FROM dashboard_sessions').all() as Record<string, unknown>[];
      assert.equal(rows.length, 1);
      const stored = JSON.stringify(rows);
      assert.ok(!stored.includes(s.id) && !stored.includes(s.csrf), stored);
      assert.equal(rows[0].id_hash, createHash('sha256').update(s.id).digest('hex'));
    } finally {
      db.close();
    }
    const other = new DashboardSessions(store, new ManualClock());
    assert.equal((await other.use(s.id))?.csrf, s.csrf, 'another server of the store knows the session and its CSRF value');
  });

  it('forgets every session of a token, and a deleted one', async () => {
    const sessions = new DashboardSessions(store, new ManualClock());
    const a = await sessions.create('hash-a');
    const b = await sessions.create('hash-a');
    const c = await sessions.create('hash-c');
    await sessions.deleteToken('hash-a');
    assert.equal(await sessions.use(a.id), undefined);
    assert.equal(await sessions.use(b.id), undefined);
    assert.ok(await sessions.use(c.id));
    await sessions.delete(c.id);
    assert.equal(await sessions.use(c.id), undefined);
  });

  it('reads its id from a Cookie header among others', () => {
    assert.equal(sessionIdOf(`a=1; ${SESSION_COOKIE}=abc_-9; b=2`), 'abc_-9');
    assert.equal(sessionIdOf('a=1'), undefined);
    assert.equal(sessionIdOf(`${SESSION_COOKIE}=`), undefined);
    assert.equal(sessionIdOf(undefined), undefined);
  });
});
