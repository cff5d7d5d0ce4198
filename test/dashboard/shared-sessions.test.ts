/**
 * Dashboard sessions live in the store: two servers of one store (as behind a load balancer) know
 * the same login, a logout on one ends it on the other, a restart keeps it, and a revoked token's
 * sessions go. Raw HTTP with the cookie, as a browser sends it, against real sockets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createToken, revokeToken } from '../../src/auth/tokens.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { dashboardPlugin } from '../../src/dashboard/plugin.js';
import { type HttpFrontDoor, httpFrontDoor } from '../../src/http/front-door.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../../src/http/sessions.js';
import { Offload } from '../../src/offload.js';
import { defaultFactory } from '../helpers/offload.js';
import type { StoreFixture } from '../helpers/stores.js';

interface Served {
  offload: Offload;
  door: HttpFrontDoor;
  close(): Promise<void>;
}

async function serve(url: string): Promise<Served> {
  const offload = await Offload.open({ store: url, logger: silentLogger });
  const door = await httpFrontDoor({ host: '127.0.0.1', port: 0, requireToken: true, plugins: [dashboardPlugin()] })(offload, silentLogger);
  await door.start();
  return {
    offload,
    door,
    async close() {
      await door.stop();
      await offload.close();
    },
  };
}

async function login(s: Served, token: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${s.door.url}/dashboard/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  assert.equal(res.status, 200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  assert.ok(cookie.startsWith(`${SESSION_COOKIE}=`), cookie);
  return { cookie, csrf: ((await res.json()) as { csrf: string }).csrf };
}

async function whoAmI(s: Served, cookie: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.door.url}/dashboard/session`, { headers: { cookie } });
  return { status: res.status, body: await res.json() };
}

async function logout(s: Served, cookie: string, csrf?: string): Promise<number> {
  const res = await fetch(`${s.door.url}/dashboard/session`, { method: 'DELETE', headers: { cookie, ...(csrf ? { [CSRF_HEADER]: csrf } : {}) } });
  await res.arrayBuffer();
  return res.status;
}

describe('dashboard sessions shared by the servers of a store', () => {
  let fixture: StoreFixture;
  let a: Served;
  let b: Served;
  let token: string;

  before(async () => {
    fixture = await defaultFactory()();
    a = await serve(fixture.url);
    b = await serve(fixture.url);
    token = (await createToken(a.offload.store, systemClock, { name: 'ops', scope: 'admin' })).secret;
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await fixture?.dispose();
  });

  it('a login on one server is known to the other, with the same CSRF value; a logout on either ends it on both', async () => {
    const { cookie, csrf } = await login(a, token);
    const there = await whoAmI(b, cookie);
    assert.equal(there.status, 200);
    assert.deepEqual([there.body.name, there.body.via, there.body.csrf], ['ops', 'session', csrf]);
    assert.equal(await logout(b, cookie), 403, 'a change without the CSRF header is refused there too');
    assert.equal(await logout(b, cookie, csrf), 204);
    assert.equal((await whoAmI(a, cookie)).status, 401, 'logged out on the first server as well');
  });

  it('keeps a session across a restart of the server', async () => {
    const { cookie } = await login(a, token);
    await a.close();
    a = await serve(fixture.url);
    const again = await whoAmI(a, cookie);
    assert.equal(again.status, 200);
    assert.equal(again.body.via, 'session');
  });

  it("ends a revoked token's sessions on every server", async () => {
    const other = (await createToken(a.offload.store, systemClock, { name: 'viewer', scope: 'read' })).secret;
    const { cookie } = await login(b, other);
    assert.equal((await whoAmI(a, cookie)).status, 200);
    await revokeToken(a.offload.store, systemClock, 'viewer');
    assert.equal((await whoAmI(a, cookie)).status, 401);
    assert.equal((await whoAmI(b, cookie)).status, 401);
    assert.equal((await whoAmI(a, `${SESSION_COOKIE}=made-up`)).status, 401, 'an unknown session id is no session');
  });
});
