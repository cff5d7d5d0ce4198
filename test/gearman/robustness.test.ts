/**
 * Hostile and broken peers: the server answers ERROR or closes that one connection, stays up,
 * and goes on serving everyone else.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { encodePacket } from '../../src/gearman/codec.js';
import { PacketType } from '../../src/gearman/protocol.js';
import { grabJob, type RawPeer, startTestGearman, type TestGearman, until } from '../helpers/gearman.js';

const header = (magic: string, type: number, size: number) => {
  const b = Buffer.alloc(12);
  b.write(magic, 0, 'latin1');
  b.writeUInt32BE(type, 4);
  b.writeUInt32BE(size, 8);
  return b;
};

/** The server still works for a well-behaved peer: a submit and an echo. */
async function stillServes(t: TestGearman): Promise<void> {
  const p = await t.peer();
  p.send('SUBMIT_JOB_BG', 'healthy', '', 'x');
  await p.expect('JOB_CREATED');
  p.send('ECHO_REQ', 'alive');
  assert.deepEqual(await p.expect('ECHO_RES'), ['alive']);
  await p.close();
}

async function closedAfterError(p: RawPeer, code: string): Promise<string[]> {
  const args = await p.expect('ERROR');
  assert.equal(args[0], code);
  await p.closed;
  return args;
}

/** Waits, turn by turn of the event loop, for a condition the server reaches by itself. */

describe('gearman robustness', () => {
  let t: TestGearman;
  afterEach(() => t?.dispose());

  it('wrong magic: ERROR INVALID_MAGIC, connection closed', async () => {
    t = await startTestGearman();
    const res = await t.peer();
    res.write(header('\0RES', PacketType.SUBMIT_JOB, 0));
    assert.deepEqual(await closedAfterError(res, 'INVALID_MAGIC'), ['INVALID_MAGIC', 'Request magic expected']);
    const garbage = await t.peer();
    garbage.write(Buffer.from([0, 0x47, 0x45, 0x54, 1, 2, 3]));
    await closedAfterError(garbage, 'INVALID_MAGIC');
    await stillServes(t);
  });

  it('unknown packet types: ERROR INVALID_COMMAND, connection closed', async () => {
    t = await startTestGearman();
    for (const type of [0, 5, 43, 9999]) {
      const p = await t.peer();
      p.write(header('\0REQ', type, 0));
      await closedAfterError(p, 'INVALID_COMMAND');
    }
    await stillServes(t);
  });

  it('absurd sizes: ERROR ARGUMENT_TOO_LARGE at the header, nothing of the claimed size allocated', async () => {
    t = await startTestGearman();
    const before = process.memoryUsage().arrayBuffers;
    const peers = await Promise.all(Array.from({ length: 50 }, () => t.peer()));
    for (const p of peers) p.write(header('\0REQ', PacketType.SUBMIT_JOB, 0xfffffff0));
    for (const p of peers) await closedAfterError(p, 'ARGUMENT_TOO_LARGE');
    // 50 × 4 GiB claimed; had any of it been allocated, this would show (or the process would be gone).
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
    await stillServes(t);
  });

  it('truncated and malformed packets: a peer that stops mid-packet is forgotten, one with missing fields gets ERROR', async () => {
    t = await startTestGearman();
    const truncated = await t.peer();
    truncated.write(encodePacket('req', PacketType.SUBMIT_JOB, ['f', 'u', 'workload']).subarray(0, 15));
    await truncated.close();
    const malformed = await t.peer();
    malformed.write(Buffer.concat([header('\0REQ', PacketType.SUBMIT_REDUCE_JOB, 9), Buffer.from('f\0u\0data\0')]));
    await closedAfterError(malformed, 'INVALID_PACKET');
    const longLine = await t.peer();
    longLine.write('s'.repeat(10_000));
    await closedAfterError(longLine, 'ARGUMENT_TOO_LARGE');
    await stillServes(t);
    assert.equal((await t.offload.listJobs({ task: 'f' })).jobs.length, 0, 'nothing half-read was stored');
  });

  it('slow loris: a packet that starts and never completes is cut off after the packet timeout', async () => {
    t = await startTestGearman({ server: { packetTimeoutMs: 10_000 } });
    const loris = await t.peer();
    const packet = encodePacket('req', PacketType.SUBMIT_JOB, ['f', 'u', 'x'.repeat(100)]);
    loris.write(packet.subarray(0, 5));
    await until(() => t.server.stats().incomplete === 1, 'the first bytes arrived');
    await t.clock.advance(5_000);
    loris.write(packet.subarray(5, 6)); // a trickle does not extend the deadline
    await t.clock.advance(5_000);
    await loris.closed;
    // An idle connection (no partial packet) is not affected: workers sleep for hours.
    const idle = await t.peer();
    await t.clock.advance(60_000);
    idle.send('ECHO_REQ', 'still here');
    assert.deepEqual(await idle.expect('ECHO_RES'), ['still here']);
    await stillServes(t);
  });

  it('1,000 idle connections: all accepted, listed, and the server goes on working', async () => {
    t = await startTestGearman();
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 1000; i++) {
        sockets.push(
          await new Promise<Socket>((resolve, reject) => {
            const s = connect(t.port, '127.0.0.1', () => resolve(s));
            s.once('error', reject);
          }),
        );
      }
      await until(() => t.server.stats().connections >= 1000, 'the server holds 1,000 connections');
      const w = await t.peer();
      w.send('CAN_DO', 'idle.work');
      const c = await t.peer();
      c.send('SUBMIT_JOB', 'idle.work', '', 'ping');
      const [handle] = await c.expect('JOB_CREATED');
      w.send('GRAB_JOB_ALL');
      await w.expect('JOB_ASSIGN_UNIQ');
      w.send('WORK_COMPLETE', handle, 'pong');
      assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'pong']);
      c.write('workers\n');
      const lines = await c.lines();
      assert.ok(lines.length >= 1003, `workers lists every connection (${lines.length} lines)`);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await until(() => t.server.stats().connections <= 2, 'closed connections are forgotten');
  });

  it('a client flooding submits without reading: the server stops reading it, serves the others, and loses nothing', async () => {
    t = await startTestGearman();
    const flood = await t.peer();
    flood.socket.pause(); // reads nothing
    const n = 20_000;
    const frames: Buffer[] = [];
    for (let i = 0; i < n; i++) frames.push(encodePacket('req', PacketType.SUBMIT_JOB_BG, ['flood', '', `${i}`.padEnd(200, '.')]));
    flood.write(Buffer.concat(frames));
    // Large echoes fill the socket buffers faster than the submits do.
    for (let i = 0; i < 64; i++) flood.send('ECHO_REQ', Buffer.alloc(256 * 1024, i));
    await until(() => t.server.stats().paused === 1, 'the flooding connection is no longer read');
    await stillServes(t);
    flood.socket.resume();
    let created = 0;
    for (let i = 0; i < n; i++) {
      await flood.expect('JOB_CREATED');
      created++;
    }
    for (let i = 0; i < 64; i++) assert.deepEqual(((await flood.next()) as { args: Buffer[] }).args[0], Buffer.alloc(256 * 1024, i));
    assert.equal(created, n);
    const counts = await t.offload.counts();
    assert.equal(counts.find((c) => c.task === 'flood')?.queued, n);
  });

  it('a client that never reads what it is sent is cut off, and the worker sending it goes on', async () => {
    t = await startTestGearman({ server: { maxPacketBytes: 64 * 1024 } });
    const client = await t.peer();
    client.socket.pause();
    client.send('SUBMIT_JOB', 'chatty', '', 'x');
    const w = await t.peer();
    w.send('CAN_DO', 'chatty');
    const [handle] = await grabJob(w);
    const chunk = Buffer.alloc(60 * 1024, 1);
    for (let i = 0; i < 400; i++) w.send('WORK_DATA', handle, chunk);
    await until(() => t.server.stats().connections === 1, 'the client that reads nothing was cut off');
    client.socket.resume();
    await client.closed;
    w.send('WORK_COMPLETE', handle, 'done anyway');
    w.send('ECHO_REQ', 'worker fine');
    assert.deepEqual(await w.expect('ECHO_RES'), ['worker fine']);
    assert.equal((await t.offload.getJob(handle.split(':').pop()!)).state, 'succeeded');
  });

  it('a store that fails: submits get ERROR STORE_UNAVAILABLE, admin commands ERR, and the server stays up', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    c.send('SUBMIT_JOB_BG', 'before', '', 'x');
    await c.expect('JOB_CREATED');
    await t.offload.store.close();
    c.send('SUBMIT_JOB_BG', 'before', '', 'y');
    const [code] = await c.expect('ERROR');
    assert.equal(code, 'STORE_UNAVAILABLE');
    c.write('status\n');
    const [line] = await c.lines(() => true);
    assert.match(line, /^ERR STORE_UNAVAILABLE \S+/);
    c.send('ECHO_REQ', 'still answering');
    assert.deepEqual(await c.expect('ECHO_RES'), ['still answering']);
  });
});
