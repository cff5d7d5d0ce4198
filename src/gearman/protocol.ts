/**
 * The Gearman binary protocol's packet table, as libgearman and gearmand use it (not as the
 * PROTOCOL document lists it: the reduce submits carry four fields, see
 * ../shared/reference/gearman.md §1.2). Pure data, no I/O.
 */

/** What a request answers: packets or text, nothing, or an error to send as an ERROR packet. */
export type Reply = Buffer | Buffer[] | null;

export const PacketType = {
  CAN_DO: 1,
  CANT_DO: 2,
  RESET_ABILITIES: 3,
  PRE_SLEEP: 4,
  NOOP: 6,
  SUBMIT_JOB: 7,
  JOB_CREATED: 8,
  GRAB_JOB: 9,
  NO_JOB: 10,
  JOB_ASSIGN: 11,
  WORK_STATUS: 12,
  WORK_COMPLETE: 13,
  WORK_FAIL: 14,
  GET_STATUS: 15,
  ECHO_REQ: 16,
  ECHO_RES: 17,
  SUBMIT_JOB_BG: 18,
  ERROR: 19,
  STATUS_RES: 20,
  SUBMIT_JOB_HIGH: 21,
  SET_CLIENT_ID: 22,
  CAN_DO_TIMEOUT: 23,
  ALL_YOURS: 24,
  WORK_EXCEPTION: 25,
  OPTION_REQ: 26,
  OPTION_RES: 27,
  WORK_DATA: 28,
  WORK_WARNING: 29,
  GRAB_JOB_UNIQ: 30,
  JOB_ASSIGN_UNIQ: 31,
  SUBMIT_JOB_HIGH_BG: 32,
  SUBMIT_JOB_LOW: 33,
  SUBMIT_JOB_LOW_BG: 34,
  SUBMIT_JOB_SCHED: 35,
  SUBMIT_JOB_EPOCH: 36,
  SUBMIT_REDUCE_JOB: 37,
  SUBMIT_REDUCE_JOB_BACKGROUND: 38,
  GRAB_JOB_ALL: 39,
  JOB_ASSIGN_ALL: 40,
  GET_STATUS_UNIQUE: 41,
  STATUS_RES_UNIQUE: 42,
} as const;

export type PacketTypeName = keyof typeof PacketType;
export type PacketTypeNumber = (typeof PacketType)[PacketTypeName];

/** Who may send a packet type: `req` to the server, `res` from it, or both (the WORK_* packets). */
export type Direction = 'req' | 'res' | 'both';

export interface PacketSpec {
  readonly type: number;
  readonly name: PacketTypeName;
  /** Fields before the data blob (or all fields when `data` is false), as libgearman's table counts them. */
  readonly argc: number;
  /** True: `argc` NUL-terminated fields, then an opaque blob to the end of the body (may hold NULs). */
  readonly data: boolean;
  readonly direction: Direction;
}

const TABLE: [PacketTypeName, number, boolean, Direction][] = [
  ['CAN_DO', 1, false, 'req'],
  ['CANT_DO', 1, false, 'req'],
  ['RESET_ABILITIES', 0, false, 'req'],
  ['PRE_SLEEP', 0, false, 'req'],
  ['NOOP', 0, false, 'res'],
  ['SUBMIT_JOB', 2, true, 'req'],
  ['JOB_CREATED', 1, false, 'res'],
  ['GRAB_JOB', 0, false, 'req'],
  ['NO_JOB', 0, false, 'res'],
  ['JOB_ASSIGN', 2, true, 'res'],
  ['WORK_STATUS', 3, false, 'both'],
  ['WORK_COMPLETE', 1, true, 'both'],
  ['WORK_FAIL', 1, false, 'both'],
  ['GET_STATUS', 1, false, 'req'],
  ['ECHO_REQ', 0, true, 'req'],
  ['ECHO_RES', 0, true, 'res'],
  ['SUBMIT_JOB_BG', 2, true, 'req'],
  ['ERROR', 2, false, 'res'],
  ['STATUS_RES', 5, false, 'res'],
  ['SUBMIT_JOB_HIGH', 2, true, 'req'],
  ['SET_CLIENT_ID', 1, false, 'req'],
  ['CAN_DO_TIMEOUT', 2, false, 'req'],
  ['ALL_YOURS', 0, false, 'req'],
  ['WORK_EXCEPTION', 1, true, 'both'],
  ['OPTION_REQ', 1, false, 'req'],
  ['OPTION_RES', 1, false, 'res'],
  ['WORK_DATA', 1, true, 'both'],
  ['WORK_WARNING', 1, true, 'both'],
  ['GRAB_JOB_UNIQ', 0, false, 'req'],
  ['JOB_ASSIGN_UNIQ', 3, true, 'res'],
  ['SUBMIT_JOB_HIGH_BG', 2, true, 'req'],
  ['SUBMIT_JOB_LOW', 2, true, 'req'],
  ['SUBMIT_JOB_LOW_BG', 2, true, 'req'],
  ['SUBMIT_JOB_SCHED', 7, true, 'req'],
  ['SUBMIT_JOB_EPOCH', 3, true, 'req'],
  ['SUBMIT_REDUCE_JOB', 4, true, 'req'],
  ['SUBMIT_REDUCE_JOB_BACKGROUND', 4, true, 'req'],
  ['GRAB_JOB_ALL', 0, false, 'req'],
  ['JOB_ASSIGN_ALL', 4, true, 'res'],
  ['GET_STATUS_UNIQUE', 1, false, 'req'],
  ['STATUS_RES_UNIQUE', 6, false, 'res'],
];

const SPECS = new Map<number, PacketSpec>(
  TABLE.map(([name, argc, data, direction]) => [PacketType[name], { type: PacketType[name], name, argc, data, direction }]),
);

/** The spec of a packet type, or undefined for numbers Gearman does not define (0, 5, ≥ 43). */
export function packetSpec(type: number): PacketSpec | undefined {
  return SPECS.get(type);
}

/** How many pieces a body splits into: the fields, plus the data blob when there is one. */
export function partCount(spec: PacketSpec): number {
  return spec.argc + (spec.data ? 1 : 0);
}

export const HEADER_BYTES = 12;
export const REQUEST_MAGIC = Buffer.from([0x00, 0x52, 0x45, 0x51]); // "\0REQ"
export const RESPONSE_MAGIC = Buffer.from([0x00, 0x52, 0x45, 0x53]); // "\0RES"

/** libgearman limits (libgearman-1.0/limits.h). */
export const MAX_UNIQUE_BYTES = 64;
export const MAX_HANDLE_BYTES = 63;

/**
 * gearmand reads numbers (WORK_STATUS fields, CAN_DO_TIMEOUT, epochs, `maxqueue` sizes) with
 * atoi: leading digits, else 0; here as an unsigned 32-bit value (negative: 0).
 */
export function atoi(field: Buffer | string): number {
  const m = /^\s*([+-]?\d+)/.exec(typeof field === 'string' ? field : field.toString('latin1'));
  const n = m ? Number(m[1]) : 0;
  return Number.isFinite(n) ? Math.min(Math.max(n, 0), 0xffffffff) : 0;
}
