/** How bodies are kept in jobs: text when they are text, base64 otherwise, the bytes always recoverable. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRequestBody, encodeResponseBody } from '../../src/http-requests/bodies.js';

describe('HTTP bodies in jobs', () => {
  const text = Buffer.from('{"name":"Zoë"}');

  it('keeps a UTF-8 body of a textual or absent content type as text', () => {
    for (const type of [
      undefined,
      '',
      'text/html; charset=utf-8',
      'application/json',
      'application/problem+json',
      'image/svg+xml',
      'text/plain; charset="US-ASCII"',
    ]) {
      assert.deepEqual(encodeResponseBody(text, type), { body: '{"name":"Zoë"}', bodyEncoding: 'utf8' }, String(type));
    }
  });

  it('keeps anything else as base64: another charset, a binary type, bytes that are not UTF-8, a NUL', () => {
    const cases: [Buffer, string | undefined][] = [
      [text, 'text/plain; charset=iso-8859-1'],
      [text, 'image/png'],
      [text, 'application/octet-stream'],
      [Buffer.from([0xc3, 0x28]), 'text/plain'],
      [Buffer.from('a\u0000b'), 'text/plain'],
    ];
    for (const [bytes, type] of cases) {
      const encoded = encodeResponseBody(bytes, type);
      assert.equal(encoded.bodyEncoding, 'base64', String(type));
      assert.deepEqual(Buffer.from(encoded.body, encoded.bodyEncoding), bytes);
    }
  });

  it('gives the bytes back whatever the encoding, a byte order mark included', () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]);
    const encoded = encodeResponseBody(withBom, 'text/plain');
    assert.equal(encoded.bodyEncoding, 'utf8');
    assert.deepEqual(Buffer.from(encoded.body, encoded.bodyEncoding), withBom);
    assert.deepEqual(encodeRequestBody('héllo'), { body: 'héllo', bodyEncoding: 'utf8' });
    assert.deepEqual(encodeRequestBody(new Uint8Array([1, 2, 3]).subarray(1)), { body: Buffer.from([2, 3]).toString('base64'), bodyEncoding: 'base64' });
  });
});
