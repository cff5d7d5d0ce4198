/** Tokens and what they allow: scopes, task patterns, revocation, required tokens, allow-lists, throttling. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { patternMatches } from '../../src/auth/permissions.js';
import { hashSecret } from '../../src/auth/secrets.js';
import { createToken, revokeToken } from '../../src/auth/tokens.js';
import { openTestApi, type TestApi } from '../helpers/http.js';

describe('HTTP API access', () => {
  let t: TestApi;
  afterEach(async () => {
    await t.dispose();
  });

  it('stores only the SHA-256 of a secret shaped ofl_<43 base64url chars>', async () => {
    t = await openTestApi();
    const { token, secret } = await createToken(t.offload.store, t.clock, { name: 'ci', scope: 'read', tasks: ['t.*'] });
    assert.match(secret, /^ofl_[A-Za-z0-9_-]{43}$/);
    assert.equal(token.hash, hashSecret(secret));
    assert.ok(!JSON.stringify(await t.offload.store.listTokens({})).includes(secret));
    await assert.rejects(createToken(t.offload.store, t.clock, { name: 'ci', scope: 'read' }), { code: 'INVALID_OPTION' });
    await assert.rejects(createToken(t.offload.store, t.clock, { name: 'x', scope: 'root' as never }), { code: 'INVALID_OPTION' });
    await assert.rejects(createToken(t.offload.store, t.clock, { name: 'y', scope: 'read', tasks: ['bad pattern'] }), { code: 'INVALID_OPTION' });
    await assert.rejects(revokeToken(t.offload.store, t.clock, 'nobody'), { code: 'TOKEN_NOT_FOUND' });
  });

  it('task patterns: * matches any run of characters, nothing else is special', () => {
    assert.ok(patternMatches('report.*', 'report.render'));
    assert.ok(patternMatches('*', 'anything'));
    assert.ok(patternMatches('a*c', 'ac'));
    assert.ok(!patternMatches('report.*', 'reportXrender'));
    assert.ok(!patternMatches('report', 'report.render'));
    assert.ok(!patternMatches('a.b', 'aXb'));
  });

  it('on loopback a token is optional, but a given one must be valid and is honoured', async () => {
    t = await openTestApi();
    assert.equal((await t.call('GET', '/v1/tasks')).status, 200);
    const bad = await t.call('GET', '/v1/tasks', { token: 'ofl_wrong' });
    assert.deepEqual([bad.status, bad.json.error.code], [401, 'UNAUTHORIZED']);
    const work = await t.token('work');
    const r = await t.call('GET', '/v1/tasks', { token: work });
    assert.deepEqual([r.status, r.json.error.code], [403, 'FORBIDDEN']);
    const basic = await t.call('GET', '/v1/tasks', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.deepEqual([basic.status, basic.json.error.code], [401, 'UNAUTHORIZED']);
  });

  it('on loopback, a request without a token acts as admin only when its Host names this machine', async () => {
    t = await openTestApi();
    for (const host of ['localhost:7070', '127.0.0.1:7070', '[::1]:7070', 'LOCALHOST']) {
      assert.equal((await t.call('GET', '/v1/tasks', { headers: { host } })).status, 200, host);
    }
    // A page of another name resolving to 127.0.0.1 (DNS rebinding), or a proxy forwarding its own name.
    for (const host of ['rebind.example:7070', 'jobs.example.com', '127.0.0.1.example']) {
      const r = await t.call('POST', '/v1/tasks/t.echo/suspend', { headers: { host, origin: `http://${host}` }, body: {} });
      assert.deepEqual([r.status, r.json.error.code], [401, 'UNAUTHORIZED'], host);
      assert.match(r.json.error.message, /must name this machine in its Host header/);
    }
    const admin = await t.token('admin');
    assert.equal((await t.call('GET', '/v1/tasks', { token: admin, headers: { host: 'jobs.example.com' } })).status, 200, 'a token works under any name');
  });

  it('with tokens required, a request without one is 401 and nothing is written', async () => {
    t = await openTestApi({ requireToken: true });
    for (const [method, url, body] of [
      ['GET', '/v1/health'],
      ['GET', '/openapi.json'],
      ['POST', '/v1/jobs', { task: 't.echo', input: 1 }],
      ['POST', '/v1/claim', { tasks: ['t.echo'] }],
    ] as const) {
      const r = await t.call(method, url, { body });
      assert.deepEqual([r.status, r.json.error.code], [401, 'UNAUTHORIZED'], `${method} ${url}`);
    }
    assert.equal((await t.offload.listJobs()).jobs.length, 0);
    const admin = await t.token('admin');
    assert.equal((await t.call('GET', '/v1/health', { token: admin })).status, 200);
  });

  it('scopes: submit submits and reads, work claims and finishes, read reads, admin does all', async () => {
    t = await openTestApi({ requireToken: true });
    const [submit, work, read, admin] = [await t.token('submit'), await t.token('work'), await t.token('read'), await t.token('admin')];
    const job = await t.call('POST', '/v1/jobs', { token: submit, body: { task: 't.echo', input: 1 } });
    assert.equal(job.status, 201);
    const id = job.json.job.id;
    const expect = async (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, status: number, body?: unknown) => {
      const r = await t.call(method, url, { token, body });
      assert.equal(r.status, status, `${method} ${url}: ${JSON.stringify(r.json)}`);
      return r;
    };
    await expect(submit, 'GET', `/v1/jobs/${id}`, 200);
    await expect(submit, 'POST', '/v1/claim', 403, { tasks: ['t.echo'] });
    await expect(submit, 'POST', `/v1/jobs/${id}/cancel`, 403);
    await expect(read, 'GET', `/v1/jobs/${id}`, 200);
    await expect(read, 'GET', '/v1/workers', 200);
    await expect(read, 'POST', '/v1/jobs', 403, { task: 't.echo', input: 1 });
    await expect(read, 'DELETE', '/v1/tasks/t.echo/jobs', 403);
    await expect(work, 'GET', `/v1/jobs/${id}`, 403);
    await expect(work, 'POST', '/v1/jobs', 403, { task: 't.echo', input: 1 });
    await expect(work, 'GET', '/v1/health', 200);
    const claimed = (await expect(work, 'POST', '/v1/claim', 200, { tasks: ['t.echo'] })).json.jobs[0];
    await expect(work, 'POST', `/v1/jobs/${id}/complete`, 200, { leaseToken: claimed.leaseToken, result: 2 });
    const second = (await expect(admin, 'POST', '/v1/jobs', 201, { task: 't.echo', input: 2 })).json.job.id;
    await expect(admin, 'POST', `/v1/jobs/${second}/cancel`, 200);
    await expect(admin, 'POST', `/v1/jobs/${second}/retry`, 200);
    await expect(admin, 'DELETE', '/v1/tasks/t.echo/jobs', 200);
  });

  it('task patterns narrow every scope: outside them is 403 and nothing is written', async () => {
    t = await openTestApi({ requireToken: true });
    const submit = await t.token('submit', ['t.e*']);
    const work = await t.token('work', ['t.echo']);
    const read = await t.token('read', ['t.other']);
    const admin = await t.token('admin');
    const other = (await t.call('POST', '/v1/jobs', { token: admin, body: { task: 't.other', input: 1 } })).json.job.id;
    const echo = (await t.call('POST', '/v1/jobs', { token: submit, body: { task: 't.echo', input: 1 } })).json.job.id;

    const denied = await t.call('POST', '/v1/jobs', {
      token: submit,
      body: [
        { task: 't.echo', input: 2 },
        { task: 't.other', input: 3 },
      ],
    });
    assert.deepEqual([denied.status, denied.json.error.code, denied.json.error.details.task], [403, 'FORBIDDEN', 't.other']);
    assert.equal(
      (await t.call('POST', '/v1/batches', { token: submit, body: { jobs: [{ task: 't.echo', input: 1 }], onFinish: { task: 't.other' } } })).status,
      403,
    );
    assert.equal((await t.call('GET', `/v1/jobs/${other}`, { token: submit })).status, 403);
    assert.equal((await t.call('GET', `/v1/jobs/${echo}`, { token: submit })).status, 200);
    assert.equal((await t.call('GET', '/v1/jobs', { token: read })).status, 403, 'a restricted token must name a task');
    assert.equal((await t.call('GET', '/v1/jobs?task=t.other', { token: read })).json.jobs.length, 1);
    assert.equal((await t.call('GET', '/v1/jobs?task=t.echo', { token: read })).status, 403);
    assert.deepEqual(
      (await t.call('GET', '/v1/tasks', { token: read })).json.tasks.map((c: { task: string }) => c.task),
      ['t.other'],
    );

    assert.equal((await t.call('POST', '/v1/claim', { token: work, body: { tasks: ['t.echo', 't.other'] } })).status, 403);
    // A work token cannot finish another task's job, even holding its lease token.
    const [otherJob] = await t.offload.claim({ tasks: ['t.other'] });
    const stolen = await t.call('POST', `/v1/jobs/${otherJob!.id}/complete`, { token: work, body: { leaseToken: otherJob!.leaseToken, result: 'mine' } });
    assert.deepEqual([stolen.status, stolen.json.error.code], [403, 'FORBIDDEN']);
    assert.equal((await t.offload.getJob(otherJob!.id)).state, 'running');
    // An admin token narrowed to t.echo cancels or retries only t.echo's jobs.
    const echoAdmin = await t.token('admin', ['t.echo']);
    for (const action of ['cancel', 'retry']) {
      const refused = await t.call('POST', `/v1/jobs/${otherJob!.id}/${action}`, { token: echoAdmin });
      assert.deepEqual([refused.status, refused.json.error.code], [403, 'FORBIDDEN'], action);
    }
    assert.equal((await t.offload.getJob(otherJob!.id)).state, 'running');
    assert.equal(
      (await t.offload.counts()).reduce((n, c) => n + c.queued + c.running, 0),
      2,
      'nothing else was written',
    );
  });

  it('a revoked token is refused at once', async () => {
    t = await openTestApi({ requireToken: true });
    const secret = await t.token('admin', [], 'short-lived');
    assert.equal((await t.call('GET', '/v1/tasks', { token: secret })).status, 200);
    await revokeToken(t.offload.store, t.clock, 'short-lived');
    const r = await t.call('GET', '/v1/tasks', { token: secret });
    assert.deepEqual([r.status, r.json.error.code], [401, 'UNAUTHORIZED']);
  });

  it('too many failed authentications from one address get 429 with Retry-After, until the window passes', async () => {
    t = await openTestApi({ failedAuthLimit: 3, failedAuthWindowMs: 60_000 });
    const good = await t.token('admin');
    for (let i = 0; i < 3; i++) assert.equal((await t.call('GET', '/v1/tasks', { token: `ofl_guess${i}` })).status, 401);
    const limited = await t.call('GET', '/v1/tasks', { token: good });
    assert.deepEqual([limited.status, limited.json.error.code, limited.headers['retry-after']], [429, 'RATE_LIMITED', '60']);
    await t.clock.advance(60_001);
    assert.equal((await t.call('GET', '/v1/tasks', { token: good })).status, 200);
  });

  it('the allow-list admits its networks and this machine, and refuses other addresses with 403', async () => {
    t = await openTestApi({ allow: ['10.0.0.0/8'] });
    const from = async (remoteAddress: string) => (await t.call('GET', '/v1/health', { remoteAddress })).status;
    assert.deepEqual([await from('10.1.2.3'), await from('::ffff:10.9.9.9'), await from('127.0.0.1'), await from('::1')], [200, 200, 200, 200]);
    const r = await t.call('GET', '/v1/health', { remoteAddress: '192.0.2.7' });
    assert.deepEqual([r.status, r.json.error.code, r.json.error.details], [403, 'FORBIDDEN', { address: '192.0.2.7' }]);
    assert.match(r.json.error.message, /--allow/);
    await assert.rejects(openTestApi({ allow: ['10.0.0.0/33'] }), { code: 'INVALID_OPTION' });
  });
});
