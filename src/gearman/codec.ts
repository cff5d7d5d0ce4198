/**
 * The Gearman wire codec: pure functions and one incremental reader, no sockets. The reader
 * takes bytes as TCP delivers them (a packet split over many reads, many packets in one read),
 * tells binary packets from admin text lines, and never allocates a packet's claimed size
 * before its bytes have arrived.
 */
import {
  GearmanArgumentTooLargeError,
  GearmanInvalidCommandError,
  GearmanInvalidMagicError,
  GearmanInvalidPacketError,
  type OffloadError,
} from '../core/errors.js';
import { HEADER_BYTES, type PacketSpec, packetSpec, partCount, REQUEST_MAGIC, RESPONSE_MAGIC } from './protocol.js';

export interface Packet {
  spec: PacketSpec;
  /** The fields, then the data blob for types that carry one; views into the received bytes. */
  args: Buffer[];
}

export type ReadItem =
  | { kind: 'packet'; packet: Packet }
  | { kind: 'text'; line: string }
  /** The stream cannot be read further: the connection should answer ERROR and close. */
  | { kind: 'error'; error: OffloadError };

export interface ReaderLimits {
  /** Largest packet body accepted; a header claiming more is refused before any body byte is read. */
  maxBodyBytes: number;
  /** Longest admin text line, in bytes. */
  maxLineBytes: number;
}

export type Arg = Buffer | string;

/** One packet as bytes: magic, type, size, then the arguments joined by single NULs (the last one unterminated). */
export function encodePacket(magic: 'req' | 'res', type: number, args: readonly Arg[] = []): Buffer {
  let size = Math.max(0, args.length - 1);
  for (const a of args) size += typeof a === 'string' ? Buffer.byteLength(a) : a.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + size);
  (magic === 'req' ? REQUEST_MAGIC : RESPONSE_MAGIC).copy(out, 0);
  out.writeUInt32BE(type, 4);
  out.writeUInt32BE(size, 8);
  let at = HEADER_BYTES;
  args.forEach((a, i) => {
    if (i > 0) out[at++] = 0;
    at += typeof a === 'string' ? out.write(a, at) : a.copy(out, at);
  });
  return out;
}

/**
 * Splits a body into the pieces its type defines. The last piece runs to the end of the body and
 * may contain NULs (opaque data); too few separators is a malformed packet.
 */
export function splitBody(spec: PacketSpec, body: Buffer): Buffer[] | OffloadError {
  const parts = partCount(spec);
  if (parts === 0) return [];
  const args: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < parts - 1; i++) {
    const nul = body.indexOf(0, start);
    if (nul < 0) return new GearmanInvalidPacketError(spec.name, parts, args.length + 1);
    args.push(body.subarray(start, nul));
    start = nul + 1;
  }
  args.push(body.subarray(start));
  return args;
}

/**
 * Reads a byte stream of packets with the given magic (`req` on the server) and admin text lines.
 * After an error it reads nothing more: the stream has lost its framing.
 */
export class PacketReader {
  private chunks: Buffer[] = [];
  /** Bytes of `chunks[0]` already consumed. */
  private offset = 0;
  private buffered = 0;
  private failed = false;

  constructor(
    private readonly expect: 'req' | 'res',
    private readonly limits: ReaderLimits,
  ) {}

  /** Bytes received but not yet part of a whole packet or line. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): ReadItem[] {
    if (this.failed || chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const items: ReadItem[] = [];
    for (;;) {
      const item = this.next();
      if (!item) break;
      items.push(item);
      if (item.kind === 'error') {
        this.failed = true;
        this.chunks = [];
        this.buffered = 0;
        break;
      }
    }
    return items;
  }

  private next(): ReadItem | undefined {
    if (this.buffered === 0) return undefined;
    return this.byteAt(0) === 0 ? this.nextPacket() : this.nextLine();
  }

  private nextPacket(): ReadItem | undefined {
    const magicError = this.checkMagic(Math.min(4, this.buffered));
    if (magicError) return { kind: 'error', error: magicError };
    if (this.buffered < HEADER_BYTES) return undefined;
    const header = this.peek(HEADER_BYTES);
    const type = header.readUInt32BE(4);
    const size = header.readUInt32BE(8);
    const spec = packetSpec(type);
    if (!spec) return { kind: 'error', error: new GearmanInvalidCommandError(type, false) };
    if (size > this.limits.maxBodyBytes) return { kind: 'error', error: new GearmanArgumentTooLargeError('packet', size, this.limits.maxBodyBytes) };
    if (this.buffered < HEADER_BYTES + size) return undefined;
    this.skip(HEADER_BYTES);
    const args = splitBody(spec, this.take(size));
    if (!Array.isArray(args)) return { kind: 'error', error: args };
    return { kind: 'packet', packet: { spec, args } };
  }

  /** Checks as much of the magic as has arrived, so garbage is refused without waiting for 12 bytes. */
  private checkMagic(available: number): OffloadError | undefined {
    const want = this.expect === 'req' ? REQUEST_MAGIC : RESPONSE_MAGIC;
    const other = this.expect === 'req' ? RESPONSE_MAGIC : REQUEST_MAGIC;
    let matchesWant = true;
    let matchesOther = true;
    for (let i = 0; i < available; i++) {
      const b = this.byteAt(i);
      matchesWant &&= b === want[i];
      matchesOther &&= b === other[i];
    }
    if (matchesWant) return undefined;
    return new GearmanInvalidMagicError(matchesOther && available === 4);
  }

  private nextLine(): ReadItem | undefined {
    const end = this.indexOfNewline(this.limits.maxLineBytes + 1);
    if (end < 0) {
      if (this.buffered > this.limits.maxLineBytes)
        return { kind: 'error', error: new GearmanArgumentTooLargeError('line', this.buffered, this.limits.maxLineBytes) };
      return undefined;
    }
    let line = this.take(end + 1).subarray(0, end);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    return { kind: 'text', line: line.toString('utf8') };
  }

  private byteAt(i: number): number {
    let at = this.offset + i;
    for (const c of this.chunks) {
      if (at < c.length) return c[at];
      at -= c.length;
    }
    throw new RangeError('byteAt beyond the buffered bytes');
  }

  /** Position of the first "\n" among the first `limit` buffered bytes, or -1. */
  private indexOfNewline(limit: number): number {
    let seen = 0;
    let start = this.offset;
    for (const c of this.chunks) {
      const found = c.indexOf(0x0a, start);
      if (found >= 0 && seen + found - start < limit) return seen + found - start;
      seen += c.length - start;
      if (seen >= limit) return -1;
      start = 0;
    }
    return -1;
  }

  /** The next `n` bytes without consuming them (a view when they sit in one chunk). */
  private peek(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let start = this.offset;
    for (const c of this.chunks) {
      copied += c.copy(out, copied, start, Math.min(c.length, start + n - copied));
      if (copied === n) break;
      start = 0;
    }
    return out;
  }

  private take(n: number): Buffer {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  private skip(n: number): void {
    this.buffered -= n;
    let left = n;
    while (left > 0) {
      const rest = this.chunks[0].length - this.offset;
      if (rest > left) {
        this.offset += left;
        return;
      }
      left -= rest;
      this.chunks.shift();
      this.offset = 0;
    }
    if (this.chunks.length > 0 && this.offset === this.chunks[0].length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
