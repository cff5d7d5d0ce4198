/**
 * The packet codec, byte for byte against packets captured between real clients and gearmand
 * 1.1.20 (../shared/reference/gearman.md §1.2, §1.3 and §7.3), and the reader against split,
 * merged, truncated and hostile input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePacket, PacketReader, type ReadItem } from '../../src/gearman/codec.js';
import { PacketType, type PacketTypeName } from '../../src/gearman/protocol.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const UUID = '4dfdeed0-e774-11f1-8693-02fc00000001';

/** [direction, type, arguments, the bytes on the wire] */
const CAPTURES: ['req' | 'res', PacketTypeName, string[], string][] = [
  ['req', 'CAN_DO', ['reverse2'], '00 52 45 51 00 00 00 01 00 00 00 08 72 65 76 65 72 73 65 32'],
  ['req', 'GRAB_JOB_ALL', [], '00 52 45 51 00 00 00 27 00 00 00 00'],
  ['res', 'NO_JOB', [], '00 52 45 53 00 00 00 0a 00 00 00 00'],
  ['req', 'PRE_SLEEP', [], '00 52 45 51 00 00 00 04 00 00 00 00'],
  [
    'req',
    'SUBMIT_JOB',
    ['reverse2', UUID, 'test'],
    `00 52 45 51 00 00 00 07 00 00 00 32 72 65 76 65
    72 73 65 32 00 34 64 66 64 65 65 64 30 2d 65 37 37 34 2d 31 31 66 31 2d 38 36 39 33 2d 30 32 66
    63 30 30 30 30 30 30 30 31 00 74 65 73 74`,
  ],
  ['res', 'JOB_CREATED', ['H:testhost:7'], '00 52 45 53 00 00 00 08 00 00 00 0c 48 3a 74 65 73 74 68 6f 73 74 3a 37'],
  ['res', 'NOOP', [], '00 52 45 53 00 00 00 06 00 00 00 00'],
  [
    'res',
    'JOB_ASSIGN_UNIQ',
    ['H:testhost:7', 'reverse2', UUID, 'test'],
    `00 52 45 53 00 00 00 1f 00 00 00 3f 48 3a 74 65
    73 74 68 6f 73 74 3a 37 00 72 65 76 65 72 73 65 32 00 34 64 66 64 65 65 64 30 2d 65 37 37 34 2d
    31 31 66 31 2d 38 36 39 33 2d 30 32 66 63 30 30 30 30 30 30 30 31 00 74 65 73 74`,
  ],
  ['req', 'WORK_COMPLETE', ['H:testhost:7', 'tset'], '00 52 45 51 00 00 00 0d 00 00 00 11 48 3a 74 65 73 74 68 6f 73 74 3a 37 00 74 73 65 74'],
  ['res', 'WORK_COMPLETE', ['H:testhost:7', 'tset'], '00 52 45 53 00 00 00 0d 00 00 00 11 48 3a 74 65 73 74 68 6f 73 74 3a 37 00 74 73 65 74'],
  ['req', 'SET_CLIENT_ID', ['php-worker-1'], '00 52 45 51 00 00 00 16 00 00 00 0c 70 68 70 2d 77 6f 72 6b 65 72 2d 31'],
  ['req', 'OPTION_REQ', ['exceptions'], '00 52 45 51 00 00 00 1a 00 00 00 0a 65 78 63 65 70 74 69 6f 6e 73'],
  ['res', 'OPTION_RES', ['exceptions'], '00 52 45 53 00 00 00 1b 00 00 00 0a 65 78 63 65 70 74 69 6f 6e 73'],
  ['req', 'ECHO_REQ', ['hi'], '00 52 45 51 00 00 00 10 00 00 00 02 68 69'],
  ['res', 'ECHO_RES', ['hi'], '00 52 45 53 00 00 00 11 00 00 00 02 68 69'],
  ['req', 'GET_STATUS', ['H:testhost:11'], '00 52 45 51 00 00 00 0f 00 00 00 0d 48 3a 74 65 73 74 68 6f 73 74 3a 31 31'],
  [
    'res',
    'STATUS_RES',
    ['H:testhost:11', '1', '1', '1', '4'],
    '00 52 45 53 00 00 00 14 00 00 00 15 48 3a 74 65 73 74 68 6f 73 74 3a 31 31 00 31 00 31 00 31 00 34',
  ],
  ['res', 'STATUS_RES', ['H:testhost:11', '1', '1', '0', '0'], '00524553 00000014 00000015 483a74657374686f73743a3131 00 31 00 31 00 30 00 30'],
  ['req', 'GET_STATUS_UNIQUE', ['bg-unique-1'], '00 52 45 51 00 00 00 29 00 00 00 0b 62 67 2d 75 6e 69 71 75 65 2d 31'],
  [
    'res',
    'STATUS_RES_UNIQUE',
    ['bg-unique-1', '1', '1', '1', '4', '0'],
    '00 52 45 53 00 00 00 2a 00 00 00 15 62 67 2d 75 6e 69 71 75 65 2d 31 00 31 00 31 00 31 00 34 00 30',
  ],
  ['res', 'ERROR', ['QUEUE_ERROR', 'Job queue is full'], '00524553 00000013 0000001d 51554555455f4552524f52 00 4a6f622071756575652069732066756c6c'],
];

const LIMITS = { maxBodyBytes: 1024 * 1024, maxLineBytes: 8192 };

function packets(items: ReadItem[]): { name: string; args: string[] }[] {
  return items.map((i) => {
    if (i.kind !== 'packet') throw new Error(`expected a packet, got ${JSON.stringify(i)}`);
    return { name: i.packet.spec.name, args: i.packet.args.map((a) => a.toString('latin1')) };
  });
}

describe('gearman codec', () => {
  it('encodes every captured packet to the exact bytes gearmand and libgearman put on the wire', () => {
    for (const [magic, name, args, bytes] of CAPTURES) {
      assert.deepEqual(encodePacket(magic, PacketType[name], args), hex(bytes), name);
    }
  });

  it('decodes every captured packet into its arguments', () => {
    for (const [magic, name, args, bytes] of CAPTURES) {
      const reader = new PacketReader(magic, LIMITS);
      assert.deepEqual(packets(reader.push(hex(bytes))), [{ name, args }], name);
      assert.equal(reader.pendingBytes, 0);
    }
  });

  it('reads packets split over many reads, one byte at a time', () => {
    const stream = Buffer.concat(CAPTURES.filter(([m]) => m === 'req').map(([, , , b]) => hex(b)));
    const reader = new PacketReader('req', LIMITS);
    const items: ReadItem[] = [];
    for (const byte of stream) items.push(...reader.push(Buffer.from([byte])));
    assert.deepEqual(
      packets(items).map((p) => p.name),
      CAPTURES.filter(([m]) => m === 'req').map(([, n]) => n),
    );
  });

  it('reads many packets merged in one read, and admin text lines between them', () => {
    const submit = hex(CAPTURES[4][3]);
    const stream = Buffer.concat([submit, Buffer.from('status\r\nversion\n'), submit, Buffer.from('workers\n')]);
    const items = new PacketReader('req', LIMITS).push(stream);
    assert.deepEqual(
      items.map((i) => (i.kind === 'packet' ? i.packet.spec.name : i.kind === 'text' ? `text:${i.line}` : 'error')),
      ['SUBMIT_JOB', 'text:status', 'text:version', 'SUBMIT_JOB', 'text:workers'],
    );
  });

  it('keeps NULs inside the data blob (ECHO, WORK_COMPLETE), which runs to the end of the body', () => {
    const data = Buffer.from([0, 1, 0, 0, 255, 0]);
    const reader = new PacketReader('req', LIMITS);
    const [echo, complete] = reader.push(
      Buffer.concat([encodePacket('req', PacketType.ECHO_REQ, [data]), encodePacket('req', PacketType.WORK_COMPLETE, ['H:x:1', data])]),
    );
    assert.ok(echo.kind === 'packet' && complete.kind === 'packet');
    assert.deepEqual(echo.packet.args, [data]);
    assert.deepEqual(complete.packet.args, [Buffer.from('H:x:1'), data]);
  });

  it('splits reduce submits into four fields and the workload, as libgearman sends them', () => {
    const body = Buffer.from('rawg\0u-reduce\0myreducer\0\0mapdata');
    const [item] = new PacketReader('req', LIMITS).push(Buffer.concat([hex('00524551 00000026'), u32(body.length), body]));
    assert.ok(item.kind === 'packet');
    assert.deepEqual(item.packet.args.map(String), ['rawg', 'u-reduce', 'myreducer', '', 'mapdata']);
  });

  it('waits for a truncated packet without error, and completes it when the rest arrives', () => {
    const bytes = hex(CAPTURES[4][3]);
    const reader = new PacketReader('req', LIMITS);
    assert.deepEqual(reader.push(bytes.subarray(0, 20)), []);
    assert.equal(reader.pendingBytes, 20);
    assert.equal(packets(reader.push(bytes.subarray(20)))[0].name, 'SUBMIT_JOB');
  });

  it('refuses a response magic sent to the server, and garbage magic, before the header is complete', () => {
    const res = new PacketReader('req', LIMITS).push(hex('00 52 45 53 00 00 00 07'));
    assert.equal(res.length, 1);
    assert.ok(res[0].kind === 'error');
    assert.deepEqual([res[0].error.code, res[0].error.message], ['INVALID_MAGIC', 'Request magic expected']);
    const garbage = new PacketReader('req', LIMITS).push(hex('00 47 45'));
    assert.ok(garbage[0].kind === 'error' && garbage[0].error.code === 'INVALID_MAGIC');
  });

  it('refuses unknown packet types (0, 5, 43 and beyond)', () => {
    for (const type of [0, 5, 43, 0xffffffff]) {
      const [item] = new PacketReader('req', LIMITS).push(Buffer.concat([hex('00524551'), u32(type), u32(0)]));
      assert.ok(item.kind === 'error' && item.error.code === 'INVALID_COMMAND', `type ${type}`);
    }
  });

  it('refuses an absurd size as soon as the header arrives, holding only the header', () => {
    const reader = new PacketReader('req', LIMITS);
    const [item] = reader.push(Buffer.concat([hex('00524551 00000007'), u32(0xfffffff0)]));
    assert.ok(item.kind === 'error' && item.error.code === 'ARGUMENT_TOO_LARGE');
    assert.equal(reader.pendingBytes, 0);
    assert.deepEqual(reader.push(Buffer.alloc(100)), [], 'reads nothing after an error');
  });

  it('refuses a packet with too few argument separators for its type', () => {
    const body = Buffer.from('rawg\0u-reduce\0mapdata');
    const [item] = new PacketReader('req', LIMITS).push(Buffer.concat([hex('00524551 00000026'), u32(body.length), body]));
    assert.ok(item.kind === 'error' && item.error.code === 'INVALID_PACKET');
  });

  it('refuses an endless text line', () => {
    const reader = new PacketReader('req', { maxBodyBytes: 1024, maxLineBytes: 100 });
    assert.deepEqual(reader.push(Buffer.from('x'.repeat(100))), []);
    const [item] = reader.push(Buffer.from('y'));
    assert.ok(item.kind === 'error' && item.error.code === 'ARGUMENT_TOO_LARGE');
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
