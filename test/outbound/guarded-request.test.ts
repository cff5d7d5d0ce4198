/**
 * The outbound guard against real HTTP servers on 127.0.0.1, started here: the address policy
 * (checked on literal addresses and on what a name resolves to), the deadline, the size limit,
 * redirects, and what goes on the wire. Nothing here reaches the internet: public addresses are
 * checked by the policy function alone.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { isOffloadError } from '../../src/core/errors.js';
import { addressPolicy } from '../../src/outbound/address-policy.js';
import { guardedRequest, type OutboundPolicy } from '../../src/outbound/guarded-request.js';
import { OutboundPool } from '../../src/outbound/outbound-pool.js';

interface TestServer {
  port: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  connections: number;
  requests: IncomingMessage[];
  /** One per connection, in order: resolves when the server sees that socket close. */
  socketClosed: Promise<void>[];
}

const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer();
  servers.push(server);
  const state: TestServer = { port: 0, origin: '', connections: 0, requests: [], socketClosed: [] };
  server.on('connection', (socket: Socket) => {
    state.connections++;
    state.socketClosed.push(new Promise((resolve) => socket.once('close', () => resolve())));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push(req);
    // The client may close while the server still writes: that is what some tests are about.
    res.on('error', () => {});
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.origin = `http://127.0.0.1:${state.port}`;
  return state;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

const LOCAL: OutboundPolicy = { timeoutMs: 5_000, maxResponseBytes: 1_000_000, allowAddresses: ['127.0.0.1'] };

const hello = (_req: IncomingMessage, res: ServerResponse) => res.end('hello');
const silent = () => {};

/** Asserts that `promise` rejects with the Offload error `code`, and returns the error. */
async function refusal(promise: Promise<unknown>, code: string): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isOffloadError(err), `expected ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err as Error & { code: string; details?: Record<string, unknown> };
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}

describe('outbound: addresses', () => {
  it('refuses a server on 127.0.0.1 by default, without connecting, and reaches it when allowAddresses names it', async () => {
    const srv = await serve(hello);
    const err = await refusal(
      guardedRequest({ method: 'GET', url: `${srv.origin}/` }, { timeoutMs: 5_000, maxResponseBytes: 1_000 }),
      'OUTBOUND_ADDRESS_DENIED',
    );
    assert.equal(err.details?.address, '127.0.0.1');
    assert.match(err.message, /loopback.*allowAddresses/);

    for (const allowAddresses of [['127.0.0.1'], ['127.0.0.0/8']]) {
      const res = await guardedRequest({ method: 'GET', url: `${srv.origin}/` }, { timeoutMs: 5_000, maxResponseBytes: 1_000, allowAddresses });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hello');
    }
    // Connections arrive in order: the two allowed requests are the only ones the server ever saw.
    assert.equal(srv.connections, 2);
    assert.equal(srv.requests.length, 2);
  });

  it('refuses a name that resolves to a loopback address (the lookup is checked), and allows it when the address is allowed', async () => {
    const srv = await serve(hello);
    const url = `http://localhost:${srv.port}/`;
    const err = await refusal(guardedRequest({ method: 'GET', url }, { timeoutMs: 5_000, maxResponseBytes: 1_000 }), 'OUTBOUND_ADDRESS_DENIED');
    assert.equal(err.details?.host, 'localhost');
    assert.match(err.message, /localhost \(which resolves to (127\.0\.0\.1|::1)\)/);
    // localhost may resolve to ::1 as well as 127.0.0.1; every address it resolves to must be allowed.
    const res = await guardedRequest({ method: 'GET', url }, { timeoutMs: 5_000, maxResponseBytes: 1_000, allowAddresses: ['127.0.0.0/8', '::1'] });
    assert.equal(res.body.toString(), 'hello');
    assert.equal(srv.connections, 1);
  });

  it('refuses loopback written in other forms: IPv4-mapped IPv6, hexadecimal, a single number', async () => {
    const srv = await serve(hello);
    for (const host of ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '0x7f.0.0.1', '2130706433', '[::1]', '0.0.0.0']) {
      await refusal(
        guardedRequest({ method: 'GET', url: `http://${host}:${srv.port}/` }, { timeoutMs: 5_000, maxResponseBytes: 1_000 }),
        'OUTBOUND_ADDRESS_DENIED',
      );
    }
    assert.equal(srv.connections, 0);
  });

  it('the policy: denied ranges in IPv4, IPv6 and IPv4-mapped IPv6; public addresses allowed', () => {
    const denied: [string, string][] = [
      ['127.0.0.1', '127.0.0.0/8'],
      ['127.255.255.254', '127.0.0.0/8'],
      ['::1', '::1/128'],
      ['0:0:0:0:0:0:0:1', '::1/128'],
      ['10.0.0.1', '10.0.0.0/8'],
      ['10.255.255.255', '10.0.0.0/8'],
      ['172.16.0.1', '172.16.0.0/12'],
      ['172.31.255.255', '172.16.0.0/12'],
      ['192.168.1.1', '192.168.0.0/16'],
      ['fc00::1', 'fc00::/7'],
      ['fd12:3456:789a::1', 'fc00::/7'],
      ['169.254.169.254', '169.254.0.0/16'],
      ['fe80::1', 'fe80::/10'],
      ['fe80::1%eth0', 'fe80::/10'],
      ['febf::1', 'fe80::/10'],
      ['0.0.0.0', '0.0.0.0/8'],
      ['::', '::/128'],
      ['100.64.0.1', '100.64.0.0/10'],
      ['100.127.255.255', '100.64.0.0/10'],
      ['::ffff:127.0.0.1', '127.0.0.0/8'],
      ['::ffff:7f00:1', '127.0.0.0/8'],
      ['0:0:0:0:0:ffff:c0a8:101', '192.168.0.0/16'],
      ['::ffff:10.1.2.3', '10.0.0.0/8'],
      ['::ffff:169.254.169.254', '169.254.0.0/16'],
      ['::ffff:100.64.0.1', '100.64.0.0/10'],
      ['::ffff:0.0.0.0', '0.0.0.0/8'],
      ['198.18.0.1', '198.18.0.0/15'],
      ['198.19.255.255', '198.18.0.0/15'],
      ['224.0.0.251', '224.0.0.0/4'],
      ['239.255.255.250', '224.0.0.0/4'],
      ['ff02::1', 'ff00::/8'],
      ['240.0.0.1', '240.0.0.0/4'],
      ['255.255.255.255', '240.0.0.0/4'],
      ['64:ff9b::a00:1', '64:ff9b::/96'],
      ['64:ff9b:1::7f00:1', '64:ff9b:1::/48'],
      ['2002:a00:1::1', '2002::/16'],
      ['2001:0:4136:e378::1', '2001::/32'],
    ];
    const allowed = [
      '93.184.216.34',
      '8.8.8.8',
      '1.1.1.1',
      '9.255.255.255',
      '11.0.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.167.255.255',
      '192.169.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '169.253.255.255',
      '2606:2800::1',
      '2001:4860:4860::8888',
      'fbff::1',
      '::2',
      '::ffff:93.184.216.34',
      '198.17.255.255',
      '198.20.0.0',
      '223.255.255.255',
      '2001:db9::1',
      '2003::1',
    ];
    const check = addressPolicy();
    for (const [address, cidr] of denied) assert.equal(check(address)?.cidr, cidr, `${address} is denied by ${cidr}`);
    for (const address of allowed) assert.equal(check(address), undefined, `${address} is allowed`);
  });

  it('the policy: allowAddresses makes exceptions (exact addresses and CIDRs, IPv4 rules cover the mapped forms); denyPrivateAddresses: false allows all', () => {
    const check = addressPolicy({ allowAddresses: ['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1'] });
    for (const address of ['10.1.2.3', '::ffff:10.1.2.3', '127.0.0.1', '::ffff:127.0.0.1', 'fd00::5', '::1']) assert.equal(check(address), undefined, address);
    for (const address of ['127.0.0.2', '192.168.1.1', 'fc00::1', '169.254.169.254']) assert.ok(check(address), address);

    const open = addressPolicy({ denyPrivateAddresses: false });
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', 'fe80::1']) assert.equal(open(address), undefined, address);

    for (const entry of ['not-an-ip', '10.0.0.0/33', '::1/129', '10.0.0.0/', '10.0.0.0/8x', 'localhost']) {
      assert.throws(
        () => addressPolicy({ allowAddresses: [entry] }),
        (err: unknown) => isOffloadError(err) && err.code === 'INVALID_OPTION',
        entry,
      );
    }
  });

  it('refuses URLs that are not absolute http: or https: URLs', async () => {
    for (const url of ['not a url', '/relative/path', 'ftp://example.com/file', 'file:///etc/passwd', 'gopher://127.0.0.1:70/']) {
      await refusal(guardedRequest({ method: 'GET', url }, LOCAL), 'OUTBOUND_INVALID_URL');
    }
  });
});

describe('outbound: limits', () => {
  it('times out against a server that never answers', async () => {
    const srv = await serve(silent);
    const err = await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/` }, { ...LOCAL, timeoutMs: 200 }), 'OUTBOUND_TIMEOUT');
    assert.equal(err.details?.phase, 'sending the request and waiting for the response');
    await srv.socketClosed[0];
  });

  it('times out against a server that sends its headers and then stalls the body', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the first part, and then nothing');
    });
    const err = await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/` }, { ...LOCAL, timeoutMs: 200 }), 'OUTBOUND_TIMEOUT');
    assert.equal(err.details?.phase, 'reading the response body');
    await srv.socketClosed[0];
  });

  it('refuses an endless body once it crosses maxResponseBytes, and closes the connection', async () => {
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      pump();
    });
    const err = await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/` }, { ...LOCAL, maxResponseBytes: 100_000 }), 'OUTBOUND_RESPONSE_TOO_LARGE');
    assert.equal(err.details?.maxResponseBytes, 100_000);
    assert.equal(err.details?.contentLength, undefined);
    await srv.socketClosed[0];
  });

  it('refuses a Content-Length over the limit before reading the body', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '10000000' });
      res.write('x'.repeat(10));
    });
    const err = await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/` }, { ...LOCAL, maxResponseBytes: 1_000 }), 'OUTBOUND_RESPONSE_TOO_LARGE');
    assert.equal(err.details?.contentLength, 10_000_000);
    await srv.socketClosed[0];
  });

  it('takes a body of exactly maxResponseBytes, and a HEAD whose Content-Length is larger', async () => {
    const body = 'y'.repeat(1_000);
    const srv = await serve((req, res) => {
      res.writeHead(200, { 'content-length': req.method === 'HEAD' ? '10000000' : String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    const res = await guardedRequest({ method: 'GET', url: `${srv.origin}/` }, { ...LOCAL, maxResponseBytes: 1_000 });
    assert.equal(res.body.toString(), body);
    const head = await guardedRequest({ method: 'HEAD', url: `${srv.origin}/` }, { ...LOCAL, maxResponseBytes: 1_000 });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('fails with OUTBOUND_CONNECTION_FAILED on a closed port', async () => {
    const srv = await serve(hello);
    const port = srv.port;
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    const err = await refusal(guardedRequest({ method: 'GET', url: `http://127.0.0.1:${port}/` }, LOCAL), 'OUTBOUND_CONNECTION_FAILED');
    assert.equal(err.details?.cause, 'ECONNREFUSED');
    assert.equal((err.cause as { code?: string }).code, 'ECONNREFUSED');
    assert.match(err.message, /refused/);
  });

  it('fails with OUTBOUND_CONNECTION_FAILED when the server closes in the middle of the body', async () => {
    const srv = await serve((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only a part', () => req.socket.destroy());
    });
    await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/` }, LOCAL), 'OUTBOUND_CONNECTION_FAILED');
  });

  it('returns an HTTP error status as a response', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(503, { 'retry-after': '7' });
      res.end('busy');
    });
    const res = await guardedRequest({ method: 'GET', url: `${srv.origin}/` }, LOCAL);
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '7');
    assert.equal(res.body.toString(), 'busy');
  });
});

describe('outbound: redirects', () => {
  const redirecting = (other?: () => string) => (req: IncomingMessage, res: ServerResponse) => {
    const to: Record<string, [number, string]> = {
      '/a': [302, '/b'],
      '/see-other': [303, '/echo'],
      '/temporary': [307, '/echo'],
      '/loop': [302, '/loop'],
      '/away': [302, `${other?.()}/`],
      '/nowhere': [302, 'http://[bad'],
    };
    const hop = to[req.url ?? ''];
    if (hop) {
      res.writeHead(hop[0], { location: hop[1] });
      return res.end(`see ${hop[1]}`);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(JSON.stringify({ url: req.url, method: req.method, body: Buffer.concat(chunks).toString() })));
  };

  it('returns a 3xx as it is by default', async () => {
    const srv = await serve(redirecting());
    const res = await guardedRequest({ method: 'GET', url: `${srv.origin}/a` }, LOCAL);
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/b');
    assert.equal(res.body.toString(), 'see /b');
    assert.equal(res.url, `${srv.origin}/a`);
    assert.equal(srv.requests.length, 1);
  });

  it('follows redirects to the same origin with followRedirects: a 303 as a GET, a 307 with its method and body', async () => {
    const srv = await serve(redirecting());
    const policy = { ...LOCAL, followRedirects: true };
    const res = await guardedRequest({ method: 'GET', url: `${srv.origin}/a` }, policy);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body.toString()), { url: '/b', method: 'GET', body: '' });
    assert.equal(res.url, `${srv.origin}/b`);

    const seeOther = await guardedRequest({ method: 'POST', url: `${srv.origin}/see-other`, body: 'payload' }, policy);
    assert.deepEqual(JSON.parse(seeOther.body.toString()), { url: '/echo', method: 'GET', body: '' });
    const temporary = await guardedRequest({ method: 'POST', url: `${srv.origin}/temporary`, body: 'payload' }, policy);
    assert.deepEqual(JSON.parse(temporary.body.toString()), { url: '/echo', method: 'POST', body: 'payload' });
  });

  it('refuses a redirect to another port, without connecting there', async () => {
    const other = await serve(hello);
    const srv = await serve(redirecting(() => other.origin));
    const err = await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/away` }, { ...LOCAL, followRedirects: true }), 'OUTBOUND_REDIRECT_REFUSED');
    assert.equal(err.details?.to, `${other.origin}/`);
    assert.equal(other.connections, 0);
  });

  it('refuses the sixth redirect, and a Location that is not a URL', async () => {
    const srv = await serve(redirecting());
    const policy = { ...LOCAL, followRedirects: true };
    const err = await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/loop` }, policy), 'OUTBOUND_REDIRECT_REFUSED');
    assert.match(err.message, /limit of 5/);
    assert.equal(srv.requests.length, 6);
    await refusal(guardedRequest({ method: 'GET', url: `${srv.origin}/nowhere` }, policy), 'OUTBOUND_REDIRECT_REFUSED');
  });
});

describe('outbound: what is sent', () => {
  const echo = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('base64') }));
    });
  };

  it('sends hostHeader as Host, and the headers and a bytes body intact', async () => {
    const srv = await serve(echo);
    const bytes = new Uint8Array(256).map((_, i) => i);
    const res = await guardedRequest(
      {
        method: 'PUT',
        url: `${srv.origin}/path?q=1`,
        headers: { 'X-Offload-Test': 'yes', 'content-type': 'application/octet-stream', 'Content-Length': '3' },
        body: bytes.subarray(1),
        hostHeader: 'vhost.example.com',
      },
      LOCAL,
    );
    const seen = JSON.parse(res.body.toString());
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.url, '/path?q=1');
    assert.equal(seen.headers.host, 'vhost.example.com');
    assert.equal(seen.headers['x-offload-test'], 'yes');
    assert.equal(seen.headers['content-type'], 'application/octet-stream');
    assert.equal(seen.headers['content-length'], '255');
    assert.deepEqual(Buffer.from(seen.body, 'base64'), Buffer.from(bytes.subarray(1)));
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
  });

  it('refuses a method or header that is not valid HTTP, sending nothing', async () => {
    const srv = await serve(hello);
    for (const [req, option] of [
      [{ method: 'G T', url: `${srv.origin}/` }, 'method'],
      [{ method: 'GET', url: `${srv.origin}/`, headers: { 'x-injected': 'a\r\nHost: elsewhere' } }, 'headers'],
    ] as const) {
      const err = await refusal(guardedRequest(req, LOCAL), 'INVALID_OPTION');
      assert.equal(err.details?.option, option);
    }
    assert.equal(srv.connections, 0);
  });

  it("sends a string body as UTF-8 and the URL's host when no hostHeader is given", async () => {
    const srv = await serve(echo);
    const res = await guardedRequest({ method: 'POST', url: `${srv.origin}/`, body: '{"name":"Zoë"}' }, LOCAL);
    const seen = JSON.parse(res.body.toString());
    assert.equal(seen.headers.host, `127.0.0.1:${srv.port}`);
    assert.equal(Buffer.from(seen.body, 'base64').toString('utf8'), '{"name":"Zoë"}');
    assert.equal(seen.headers['content-length'], String(Buffer.byteLength('{"name":"Zoë"}')));
  });
});

describe('outbound: abort', () => {
  it('an aborted signal aborts the request with its reason and closes the connection', async () => {
    let arrived!: () => void;
    const requestSeen = new Promise<void>((resolve) => (arrived = resolve));
    const srv = await serve(() => arrived());
    const controller = new AbortController();
    const reason = new Error('the job was cancelled');
    const pending = guardedRequest({ method: 'GET', url: `${srv.origin}/` }, LOCAL, controller.signal);
    await requestSeen;
    controller.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
    await srv.socketClosed[0];
  });

  it('a signal aborted before the call connects nowhere', async () => {
    const srv = await serve(hello);
    const reason = new Error('already stopped');
    await assert.rejects(guardedRequest({ method: 'GET', url: `${srv.origin}/` }, LOCAL, AbortSignal.abort(reason)), (err) => err === reason);
    assert.equal(srv.connections, 0);
  });
});

describe('outbound: kept-alive connections (a pool)', () => {
  it('reuses one connection for requests in a row, and only under the same address rules', async () => {
    const s = await serve(hello);
    const pool = new OutboundPool();
    try {
      for (let i = 0; i < 5; i++) assert.equal((await guardedRequest({ method: 'GET', url: s.origin }, { ...LOCAL, pool })).body.toString(), 'hello');
      assert.equal(s.connections, 1);
      // Other rules (here: private addresses allowed wholesale) never take a socket opened under these.
      await guardedRequest({ method: 'GET', url: s.origin }, { timeoutMs: 5000, maxResponseBytes: 100, denyPrivateAddresses: false, pool });
      assert.equal(s.connections, 2);
    } finally {
      pool.close();
    }
  });

  it('replaces a pooled connection the server closed while it rested, without an error', async () => {
    const s = await serve(hello);
    const pool = new OutboundPool();
    try {
      await guardedRequest({ method: 'GET', url: s.origin }, { ...LOCAL, pool });
      // The server drops the idle connection without telling (as a keep-alive timeout races a request).
      servers[servers.length - 1].closeIdleConnections();
      await s.socketClosed[0];
      assert.equal((await guardedRequest({ method: 'POST', url: s.origin, body: 'x' }, { ...LOCAL, pool })).status, 200);
      assert.equal(s.connections, 2);
    } finally {
      pool.close();
    }
  });

  it('never gives back a connection whose answer was refused (too large)', async () => {
    const s = await serve((_req, res) => res.end('x'.repeat(1000)));
    const pool = new OutboundPool();
    try {
      await refusal(guardedRequest({ method: 'GET', url: s.origin }, { ...LOCAL, maxResponseBytes: 10, pool }), 'OUTBOUND_RESPONSE_TOO_LARGE');
      await s.socketClosed[0];
      await refusal(guardedRequest({ method: 'GET', url: s.origin }, { ...LOCAL, maxResponseBytes: 10, pool }), 'OUTBOUND_RESPONSE_TOO_LARGE');
      assert.equal(s.connections, 2);
    } finally {
      pool.close();
    }
  });
});
