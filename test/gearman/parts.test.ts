/** The small pure parts of the Gearman port: handles, unique keys, the allow-list, listen addresses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AllowList, isLoopbackHost } from '../../src/auth/allow-list.js';
import { parseListenAddress } from '../../src/cli/listen-address.js';
import { handleOf, handlePrefix, jobIdOfHandle } from '../../src/gearman/handles.js';
import { atoi } from '../../src/gearman/protocol.js';
import { uniqueKeyOf } from '../../src/gearman/submissions.js';

describe('gearman parts', () => {
  it('derives handles from job ids, under 64 bytes, and reads ids back from any H:…:<id>', () => {
    assert.equal(handleOf(handlePrefix('vm'), '42'), 'H:vm:42');
    const long = handleOf(handlePrefix('a'.repeat(200)), '9223372036854775807');
    assert.ok(Buffer.byteLength(long) < 64, long);
    assert.equal(handlePrefix('my host:1'), 'H:my-host-1');
    assert.equal(jobIdOfHandle('H:vm:42'), '42');
    assert.equal(jobIdOfHandle('H:other-server:7'), '7');
    for (const bad of ['42', 'H:vm:', 'H:vm:0', 'H:vm:-1', 'H:vm:99999999999999999999', 'X:vm:1']) assert.equal(jobIdOfHandle(bad), null, bad);
  });

  it('turns uniques into unique keys as gearmand coalesces: none for empty, the workload for "-"', () => {
    const data = Buffer.from('dash-data');
    assert.equal(uniqueKeyOf(Buffer.alloc(0), data), null);
    assert.equal(uniqueKeyOf(Buffer.from('-'), Buffer.alloc(0)), null);
    assert.equal(uniqueKeyOf(Buffer.from('-'), data), uniqueKeyOf(Buffer.from('-'), Buffer.from('dash-data')));
    assert.notEqual(uniqueKeyOf(Buffer.from('-'), data), uniqueKeyOf(Buffer.from('-'), Buffer.from('other')));
    assert.equal(uniqueKeyOf(Buffer.from('u1'), data), 'u1');
    assert.equal(uniqueKeyOf(Buffer.from('u'.repeat(64)), data), 'u'.repeat(64));
    assert.throws(() => uniqueKeyOf(Buffer.from('u'.repeat(65)), data), { code: 'ARGUMENT_TOO_LARGE', message: 'Unique value too large' });
  });

  it("parses numbers as gearmand's atoi does", () => {
    assert.deepEqual(
      ['4', ' 12abc', 'x', '', '-3', '99999999999'].map((s) => atoi(Buffer.from(s))),
      [4, 12, 0, 0, 0, 0xffffffff],
    );
  });

  it('allows listed networks and loopback, nothing else', () => {
    const allow = new AllowList(['10.0.0.0/8', '192.168.1.20', 'fd00::/8']);
    for (const ok of ['10.1.2.3', '::ffff:10.9.9.9', '192.168.1.20', 'fd12::1', '127.0.0.1', '::1']) assert.ok(allow.allows(ok), ok);
    for (const no of ['11.0.0.1', '192.168.1.21', 'fe80::1', undefined]) assert.ok(!allow.allows(no), String(no));
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '']) assert.throws(() => new AllowList([bad]), { code: 'INVALID_OPTION' }, bad);
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('::1') && isLoopbackHost('localhost'));
    assert.ok(!isLoopbackHost('0.0.0.0') && !isLoopbackHost('10.0.0.1') && !isLoopbackHost('::'));
    // A name that starts like a loopback address is a name: anybody's DNS may answer for it.
    assert.ok(!isLoopbackHost('127.0.0.1.example') && !isLoopbackHost('localhost.example'));
  });

  it('parses HOST:PORT, [IPv6]:PORT, PORT and off', () => {
    assert.deepEqual(parseListenAddress('gearman', '127.0.0.1:4730'), { host: '127.0.0.1', port: 4730 });
    assert.deepEqual(parseListenAddress('gearman', '0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
    assert.deepEqual(parseListenAddress('gearman', '[::1]:4731'), { host: '::1', port: 4731 });
    assert.deepEqual(parseListenAddress('gearman', '4732'), { host: '127.0.0.1', port: 4732 });
    assert.equal(parseListenAddress('gearman', 'off'), null);
    for (const bad of ['', 'host', 'host:99999', '[nothost]:1', ':x']) assert.throws(() => parseListenAddress('gearman', bad), { code: 'INVALID_OPTION' }, bad);
  });
});
