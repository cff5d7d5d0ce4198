/** A raw Gearman peer over a real socket, and an in-process Gearman server on a fresh store. */
import { connect, type Socket } from 'node:net';
import { silentLogger } from '../../src/core/logger.js';
import { type Arg, encodePacket, type Packet, PacketReader } from '../../src/gearman/codec.js';
import { PacketType, type PacketTypeName } from '../../src/gearman/protocol.js';
import { GearmanServer, type GearmanServerOptions } from '../../src/gearman/server.js';
import type { OffloadOptions } from '../../src/index.js';
import { openTestOffload, type TestOffload } from './offload.js';
import type { StoreFactory } from './stores.js';

export type Received = { kind: 'packet'; name: PacketTypeName; args: Buffer[]; text: string[] } | { kind: 'text'; line: string };

/** Speaks the binary protocol (and admin text) to a server; what it receives is queued in order. */
export class RawPeer {
  private readonly reader = new PacketReader('res', { maxBodyBytes: 64 * 1024 * 1024, maxLineBytes: 1024 * 1024 });
  private readonly queue: Received[] = [];
  private readonly waiting: ((r: Received) => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.reader.push(chunk)) {
        if (item.kind === 'error') throw item.error;
        const r: Received =
          item.kind === 'text'
            ? item
            : { kind: 'packet', name: item.packet.spec.name, args: item.packet.args, text: item.packet.args.map((a) => a.toString('latin1')) };
        const w = this.waiting.shift();
        if (w) w(r);
        else this.queue.push(r);
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  send(type: PacketTypeName, ...args: Arg[]): void {
    this.socket.write(encodePacket('req', PacketType[type], args));
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** The next thing received. */
  next(): Promise<Received> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      void this.closed.then(() => reject(new Error('connection closed while waiting for a packet')));
    });
  }

  /** The next packet, which must be of this type; its arguments as latin1 text. */
  async expect(name: PacketTypeName): Promise<string[]> {
    const r = await this.next();
    if (r.kind !== 'packet' || r.name !== name)
      throw new Error(`expected ${name}, got ${JSON.stringify(r.kind === 'packet' ? { name: r.name, args: r.text } : r)}`);
    return r.text;
  }

  /** Admin text lines up to and including a line that matches `last` (default: the list terminator "."). */
  async lines(last: (line: string) => boolean = (l) => l === '.'): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const r = await this.next();
      if (r.kind !== 'text') throw new Error(`expected text, got packet ${r.name}`);
      out.push(r.line);
      if (last(r.line)) return out;
    }
  }

  /** Nothing more arrives until an ECHO round trip completes (everything sent before was answered). */
  async sync(): Promise<Received[]> {
    const marker = `sync-${Math.random()}`;
    this.send('ECHO_REQ', marker);
    const seen: Received[] = [];
    for (;;) {
      const r = await this.next();
      if (r.kind === 'packet' && r.name === 'ECHO_RES' && r.text[0] === marker) return seen;
      seen.push(r);
    }
  }

  pending(): number {
    return this.queue.length;
  }

  close(): Promise<void> {
    this.socket.end();
    return this.closed;
  }
}

export interface TestGearman extends TestOffload {
  server: GearmanServer;
  port: number;
  peer(): Promise<RawPeer>;
}

/** An Offload on a fresh SQLite file with a manual clock, and its Gearman port on a free port. */
export async function startTestGearman(
  opts: { server?: GearmanServerOptions; offload?: OffloadOptions & { factory?: StoreFactory } } = {},
): Promise<TestGearman> {
  const t = await openTestOffload(opts.offload ?? {});
  // GRABs are answered at once unless a test asks for lingering (it would wait on the manual clock).
  const server = new GearmanServer(t.offload, silentLogger, { port: 0, handlePrefix: 'H:test', grabLingerMs: 0, ...opts.server });
  await server.start();
  const peers: RawPeer[] = [];
  return {
    ...t,
    server,
    port: server.address().port,
    async peer() {
      const p = await RawPeer.connect(server.address().port);
      peers.push(p);
      return p;
    },
    async dispose() {
      for (const p of peers) p.socket.destroy();
      await server.stop();
      await t.dispose();
    },
  };
}

export type { Packet };

/** Sends admin text commands on one connection and returns each exact answer (line endings included). */
export async function adminExchange(port: number, commands: string[]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let buffered = '';
  let wake: (() => void) | undefined;
  socket.setEncoding('latin1').on('data', (s: string) => {
    buffered += s;
    wake?.();
  });
  const answers: string[] = [];
  try {
    for (const command of commands) {
      socket.write(`${command}\r\n`);
      // An answer is a list ending in ".\n", or a single line.
      const complete = () => /(^|\n)\.\n$/.test(buffered) || /^(OK|ERR)[^\n]*\n$/.test(buffered);
      while (!complete())
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      answers.push(buffered);
      buffered = '';
    }
  } finally {
    socket.destroy();
  }
  return answers;
}

/** A worker connection that can do `fns` (CAN_DO each, answered, and the functions registered as tasks, by the time this resolves). */
export async function gearmanWorker(t: TestGearman, ...fns: string[]): Promise<RawPeer> {
  const w = await t.peer();
  for (const f of fns) w.send('CAN_DO', f);
  await w.sync();
  // CAN_DO has no answer: the port registers the function in the store on its own time, which a
  // loaded machine can stretch past the ECHO. A test that submits by task name waits for it.
  while ((await t.offload.store.getTasks({ names: fns })).length < new Set(fns).size) await new Promise((r) => setImmediate(r));
  return w;
}

/** Turns of the event loop until `cond` holds (no clock involved); fails the test with `what` if it never does. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error(`never happened: ${what}`);
}

/** The job id in a handle (`H:<prefix>:<id>`). */
export const idOf = (handle: string): string => handle.split(':').pop()!;

/** GRAB_JOB_ALL until a job comes, sleeping (PRE_SLEEP) and waiting for NOOP in between; the JOB_ASSIGN_* arguments. */
export async function grabJob(w: RawPeer): Promise<string[]> {
  for (;;) {
    w.send('GRAB_JOB_ALL');
    const r = await w.next();
    if (r.kind === 'packet' && (r.name === 'JOB_ASSIGN_UNIQ' || r.name === 'JOB_ASSIGN_ALL')) return r.text;
    if (r.kind !== 'packet' || r.name !== 'NO_JOB') throw new Error(`expected a job or NO_JOB, got ${JSON.stringify(r)}`);
    w.send('PRE_SLEEP');
    await w.expect('NOOP');
  }
}
