/** `offload start --smtp URL` (used by rules that send e-mail): what the URL becomes, and the error naming what is wrong. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSmtpUrl } from '../../src/cli/smtp-url.js';
import { InvalidOptionError } from '../../src/core/errors.js';

describe('CLI --smtp URL', () => {
  it('reads host, port, login, sender and TLS into a plain MailerConfig', () => {
    assert.deepEqual(parseSmtpUrl('smtp://ops%40example.com:p%3Ass@smtp.example.com:2525?from=Ops%20%3Cops@example.com%3E&requireTls=true&timeoutMs=5000'), {
      host: 'smtp.example.com',
      port: 2525,
      from: 'Ops <ops@example.com>',
      auth: { user: 'ops@example.com', pass: 'p:ss' },
      requireTls: true,
      timeoutMs: 5000,
    });
    assert.deepEqual(parseSmtpUrl('smtps://mail.example.com?from=a@example.com'), { host: 'mail.example.com', port: 465, from: 'a@example.com', secure: true });
    assert.equal(parseSmtpUrl('smtp://127.0.0.1?from=a@example.com').port, 587);
  });

  it('refuses what cannot work with INVALID_OPTION', () => {
    for (const bad of [
      'not a url',
      'http://smtp.example.com?from=a@b.c',
      'smtp://smtp.example.com',
      'smtp://h?from=a@b.c&tls=1',
      'smtp://h?from=a@b.c&requireTls=yes',
    ]) {
      assert.throws(() => parseSmtpUrl(bad), InvalidOptionError, bad);
    }
  });
});
