/**
 * The mailer against real SMTP servers on 127.0.0.1 (the smtp-server package), started here: what
 * arrives (checked on the raw message), logins, servers that are down or never greet, permanent and
 * temporary refusals, STARTTLS, and what is refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { isOffloadError } from '../../src/core/errors.js';
import { createMailer, type Mailer, type MailerConfig, type MailMessage } from '../../src/notify/mailer.js';

interface Received {
  mailFrom: string;
  rcptTo: string[];
  raw: string;
  secure: boolean;
}

interface TestSmtp {
  port: number;
  received: Received[];
  /** Connections the server saw, greeted or not. */
  connections: number;
}

const smtpServers: SMTPServer[] = [];
const netServers: Server[] = [];
const sockets: Socket[] = [];
const mailers: Mailer[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(mailers.splice(0).map((mailer) => mailer.close()));
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all([
    ...smtpServers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    ...netServers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  ]);
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A plain SMTP server (no STARTTLS unless `key`/`cert` are given) that keeps every message it takes. */
async function smtp(options: SMTPServerOptions = {}): Promise<TestSmtp> {
  const state: TestSmtp = { port: 0, received: [], connections: 0 };
  const server = new SMTPServer({
    hideSTARTTLS: !(options.key && options.cert),
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1_000,
    onConnect(_session, callback) {
      state.connections++;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        state.received.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
        });
        callback();
      });
    },
    ...options,
  });
  smtpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.server.address() as AddressInfo).port;
  return state;
}

function mailer(config: Partial<MailerConfig> & { port: number }): Mailer {
  const m = createMailer({ host: '127.0.0.1', from: 'Offload <offload@example.com>', timeoutMs: 5_000, ...config });
  mailers.push(m);
  return m;
}

/** Asserts an OffloadError with this code and returns its details. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}, but the send succeeded`),
    (err: unknown) => {
      caught = err;
    },
  );
  assert.ok(isOffloadError(caught), `expected an OffloadError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught.details ?? {};
}

const MESSAGE = { to: 'ops@example.com', subject: 'Job 42 failed', text: 'The job failed.' };

const smtpError = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

describe('mailer', () => {
  it('delivers a message: from, several recipients, subject, body and a custom header arrive as sent', async () => {
    const server = await smtp();
    const m = mailer({ port: server.port });
    const sent = await m.send({
      to: ['ops@example.com', 'oncall@example.org'],
      subject: 'Job 42 failed',
      text: 'The job failed.\nSee the dashboard.',
      headers: { 'X-Offload-Rule': 'job-failed' },
    });

    assert.deepEqual(sent.accepted, ['ops@example.com', 'oncall@example.org']);
    assert.deepEqual(sent.rejected, []);
    assert.match(sent.messageId, /^<.+@.+>$/);
    assert.equal(server.received.length, 1);
    const got = server.received[0];
    assert.equal(got.mailFrom, 'offload@example.com');
    assert.deepEqual(got.rcptTo, ['ops@example.com', 'oncall@example.org']);
    const [head, body] = got.raw.split('\r\n\r\n', 2);
    const lines = head.split('\r\n');
    assert.ok(lines.includes('From: Offload <offload@example.com>'), head);
    assert.ok(lines.includes('To: ops@example.com, oncall@example.org'), head);
    assert.ok(lines.includes('Subject: Job 42 failed'), head);
    assert.ok(lines.includes('X-Offload-Rule: job-failed'), head);
    assert.ok(lines.includes(`Message-ID: ${sent.messageId}`), head);
    assert.equal(body.trimEnd(), 'The job failed.\r\nSee the dashboard.');
  });

  it('a recipient refused while others are taken is listed in rejected, not an error', async () => {
    const server = await smtp({
      onRcptTo(address, _session, callback) {
        callback(address.address.startsWith('nobody') ? smtpError(550, 'No such user') : undefined);
      },
    });
    const sent = await mailer({ port: server.port }).send({ ...MESSAGE, to: ['ops@example.com', 'nobody@example.com'] });
    assert.deepEqual(sent.accepted, ['ops@example.com']);
    assert.deepEqual(sent.rejected, ['nobody@example.com']);
    assert.deepEqual(server.received[0].rcptTo, ['ops@example.com']);
  });

  describe('logins', () => {
    const authServer = () =>
      smtp({
        authOptional: false,
        allowInsecureAuth: true,
        onAuth(auth, _session, callback) {
          if (auth.username === 'mailer' && auth.password === 'right') callback(null, { user: 'mailer' });
          else callback(new Error('Invalid username or password'));
        },
      });

    it('the right user and password are accepted', async () => {
      const server = await authServer();
      const sent = await mailer({ port: server.port, auth: { user: 'mailer', pass: 'right' } }).send(MESSAGE);
      assert.deepEqual(sent.accepted, ['ops@example.com']);
      assert.equal(server.received.length, 1);
    });

    it('a wrong password is SMTP_AUTH_FAILED, not retryable', async () => {
      const server = await authServer();
      const details = await rejectsWith(mailer({ port: server.port, auth: { user: 'mailer', pass: 'wrong' } }).send(MESSAGE), 'SMTP_AUTH_FAILED');
      assert.equal(details.retryable, false);
      assert.equal(details.user, 'mailer');
      assert.equal(details.responseCode, 535);
      assert.equal(server.received.length, 0);
    });

    it('no login to a server that requires one is SMTP_AUTH_FAILED', async () => {
      const server = await authServer();
      const details = await rejectsWith(mailer({ port: server.port }).send(MESSAGE), 'SMTP_AUTH_FAILED');
      assert.equal(details.retryable, false);
      assert.equal(details.responseCode, 530);
    });
  });

  describe('servers that cannot take the message', () => {
    it('nothing listening (a closed port) is SMTP_UNAVAILABLE, retryable, naming host and port', async () => {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));

      let caught: unknown;
      await mailer({ port })
        .send(MESSAGE)
        .catch((err: unknown) => {
          caught = err;
        });
      assert.ok(isOffloadError(caught));
      assert.equal(caught.code, 'SMTP_UNAVAILABLE');
      assert.equal(caught.details?.retryable, true);
      assert.equal(caught.details?.host, '127.0.0.1');
      assert.equal(caught.details?.port, port);
      assert.match(caught.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(caught.message, /retried/);
      assert.ok(caught.cause instanceof Error, 'the original error is the cause');
    });

    it('a server that takes the connection but never greets is SMTP_UNAVAILABLE after timeoutMs', async () => {
      const silent = createServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => {});
      });
      netServers.push(silent);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as AddressInfo).port;
      const details = await rejectsWith(mailer({ port, timeoutMs: 300 }).send(MESSAGE), 'SMTP_UNAVAILABLE');
      assert.equal(details.retryable, true);
    });

    it('a recipient refused with 550 is SMTP_REJECTED, not retryable, with the reply', async () => {
      const server = await smtp({
        onRcptTo(_address, _session, callback) {
          callback(smtpError(550, 'No such user here'));
        },
      });
      const details = await rejectsWith(mailer({ port: server.port }).send(MESSAGE), 'SMTP_REJECTED');
      assert.equal(details.retryable, false);
      assert.equal(details.responseCode, 550);
      assert.match(String(details.response), /550 No such user here/);
      assert.equal(server.received.length, 0);
    });

    it('a recipient deferred with 451 is SMTP_UNAVAILABLE, retryable', async () => {
      const server = await smtp({
        onRcptTo(_address, _session, callback) {
          callback(smtpError(451, 'Try again later'));
        },
      });
      const details = await rejectsWith(mailer({ port: server.port }).send(MESSAGE), 'SMTP_UNAVAILABLE');
      assert.equal(details.retryable, true);
      assert.equal(details.responseCode, 451);
      assert.match(String(details.response), /451 Try again later/);
    });

    it('a message refused at DATA with 554 is SMTP_REJECTED', async () => {
      const server = await smtp({
        onData(stream, _session, callback) {
          stream.resume();
          stream.on('end', () => callback(smtpError(554, 'Message refused as spam')));
        },
      });
      const details = await rejectsWith(mailer({ port: server.port }).send(MESSAGE), 'SMTP_REJECTED');
      assert.equal(details.retryable, false);
      assert.equal(details.responseCode, 554);
    });
  });

  describe('refused before anything is sent', () => {
    it('an invalid config is INVALID_OPTION naming the field', async () => {
      const good: MailerConfig = { host: 'smtp.example.com', port: 587, from: 'offload@example.com' };
      const cases: [string, Record<string, unknown>][] = [
        ['host', { host: undefined }],
        ['host', { host: '' }],
        ['port', { port: 0 }],
        ['port', { port: 65536 }],
        ['port', { port: 25.5 }],
        ['from', { from: undefined }],
        ['from', { from: 'offload.example.com' }],
        ['from', { from: 'offload@example.com\r\nBcc: all@example.com' }],
        ['timeoutMs', { timeoutMs: 0 }],
        ['auth', { auth: { user: 'mailer' } }],
      ];
      for (const [field, change] of cases) {
        assert.throws(
          () => createMailer({ ...good, ...change } as MailerConfig),
          (err: unknown) => isOffloadError(err) && err.code === 'INVALID_OPTION' && err.details?.option === field,
          `${JSON.stringify(change)} should be refused as ${field}`,
        );
      }
      // The edges of the range are ports.
      for (const port of [1, 65535]) await createMailer({ ...good, port }).close();
    });

    it('CR or LF in the subject, a recipient or a header, and a recipient without @, are INVALID_OPTION; nothing reaches the server', async () => {
      const server = await smtp();
      const m = mailer({ port: server.port });
      const cases: [string, MailMessage][] = [
        ['subject', { ...MESSAGE, subject: 'Job failed\r\nBcc: all@example.com' }],
        ['subject', { ...MESSAGE, subject: 'Job failed\nBcc: all@example.com' }],
        ['to', { ...MESSAGE, to: 'ops@example.com\r\nBcc: all@example.com' }],
        ['to', { ...MESSAGE, to: ['ops@example.com', 'x@example.com\nBcc: all@example.com'] }],
        ['to', { ...MESSAGE, to: 'ops.example.com' }],
        ['to', { ...MESSAGE, to: [] }],
        ['headers.X-Rule', { ...MESSAGE, headers: { 'X-Rule': 'a\r\nBcc: all@example.com' } }],
        ['headers.X-Rule', { ...MESSAGE, headers: { 'X-Rule': 'a\rb' } }],
        ['headers', { ...MESSAGE, headers: { 'X-Rule\r\nBcc': 'all@example.com' } }],
        ['headers', { ...MESSAGE, headers: { 'X-Rule: x': 'y' } }],
      ];
      for (const [field, message] of cases) {
        const details = await rejectsWith(m.send(message), 'INVALID_OPTION');
        assert.equal(details.option, field, JSON.stringify(message));
      }
      assert.equal(server.connections, 0);
    });

    it('a send after close is CLOSED', async () => {
      const server = await smtp();
      const m = mailer({ port: server.port });
      await m.send(MESSAGE);
      await m.close();
      await rejectsWith(m.send(MESSAGE), 'CLOSED');
      assert.equal(server.received.length, 1);
    });
  });

  describe('STARTTLS', () => {
    const opensslMissing = spawnSync('openssl', ['version']).error !== undefined;

    /** A self-signed certificate for 127.0.0.1 in a temporary directory, removed after the test. */
    function selfSigned(): { key: string; cert: string } | undefined {
      if (opensslMissing) {
        if (process.env.CI === 'true') assert.fail('openssl is needed for the STARTTLS tests and is missing on this CI machine: install it');
        return undefined;
      }
      const dir = mkdtempSync(join(tmpdir(), 'offload-mailer-'));
      tempDirs.push(dir);
      const r = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
          '-days',
          '1',
          '-keyout',
          join(dir, 'k'),
          '-out',
          join(dir, 'c'),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return { key: readFileSync(join(dir, 'k'), 'utf8'), cert: readFileSync(join(dir, 'c'), 'utf8') };
    }

    it('requireTls upgrades with STARTTLS, trusting the certificate given as tls.ca', async (t) => {
      const pair = selfSigned();
      if (pair === undefined) return t.skip('openssl is not installed here, so no certificate can be made (in CI this fails instead)');
      const server = await smtp(pair);
      const sent = await mailer({ port: server.port, requireTls: true, tls: { ca: pair.cert } }).send(MESSAGE);
      assert.deepEqual(sent.accepted, ['ops@example.com']);
      assert.equal(server.received.length, 1);
      assert.equal(server.received[0].secure, true);
    });

    it('requireTls against a server that offers no STARTTLS is SMTP_UNAVAILABLE; nothing is sent in the clear', async () => {
      const server = await smtp({ hideSTARTTLS: true });
      const details = await rejectsWith(mailer({ port: server.port, requireTls: true }).send(MESSAGE), 'SMTP_UNAVAILABLE');
      assert.equal(details.retryable, true);
      assert.equal(server.received.length, 0);
    });

    it('a certificate that is not trusted is SMTP_UNAVAILABLE', async (t) => {
      const pair = selfSigned();
      if (pair === undefined) return t.skip('openssl is not installed here, so no certificate can be made (in CI this fails instead)');
      const server = await smtp(pair);
      const details = await rejectsWith(mailer({ port: server.port, requireTls: true }).send(MESSAGE), 'SMTP_UNAVAILABLE');
      assert.equal(details.retryable, true);
      assert.equal(server.received.length, 0);
    });
  });
});
