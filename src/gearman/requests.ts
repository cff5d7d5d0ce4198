/**
 * Every request packet, mapped onto the parts of the server that answer it. Requests are handled
 * as they arrive (a pipelined batch of submits is stored in one transaction); their answers
 * leave in arrival order (GearmanConnection.reply).
 */
import { GearmanInvalidCommandError, GearmanUnknownOptionError, isOffloadError } from '../core/errors.js';
import type { JobRow } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import type { Offload } from '../offload.js';
import type { Admin } from './admin.js';
import { err } from './admin-protocol.js';
import type { Assignments } from './assignments.js';
import type { Packet } from './codec.js';
import { errorPacket, type GearmanConnection, response } from './connection.js';
import type { GearmanFunctions, GearmanPriority } from './functions.js';
import { jobIdOfHandle } from './handles.js';
import type { Listeners } from './listeners.js';
import { atoi, type Reply, PacketType as T } from './protocol.js';
import type { Submissions, SubmitRequest } from './submissions.js';
import type { Wakeups } from './wakeups.js';
import type { WorkerRecords } from './worker-records.js';

export interface RequestDeps {
  offload: Offload;
  submissions: Submissions;
  assignments: Assignments;
  listeners: Listeners;
  wakeups: Wakeups;
  functions: GearmanFunctions;
  workers: WorkerRecords;
  admin: Admin;
  logger: Logger;
}

const SUBMITS: Record<number, { priority: GearmanPriority; background: boolean }> = {
  [T.SUBMIT_JOB]: { priority: 'normal', background: false },
  [T.SUBMIT_JOB_HIGH]: { priority: 'high', background: false },
  [T.SUBMIT_JOB_LOW]: { priority: 'low', background: false },
  [T.SUBMIT_JOB_BG]: { priority: 'normal', background: true },
  [T.SUBMIT_JOB_HIGH_BG]: { priority: 'high', background: true },
  [T.SUBMIT_JOB_LOW_BG]: { priority: 'low', background: true },
};

export class Requests {
  constructor(private readonly deps: RequestDeps) {}

  /** An admin command; a failure is answered in the text protocol (`ERR CODE message`), as its client expects. */
  onText(conn: GearmanConnection, line: string): void {
    this.deps.offload.metrics.gearmanRequest('ADMIN');
    conn.reply(
      this.deps.admin.run(line).then(
        (text) => Buffer.from(text),
        (e: unknown) => {
          if (!isOffloadError(e)) this.deps.logger.error({ err: e }, 'gearman: admin command failed');
          return Buffer.from(err(isOffloadError(e) ? e.code : 'STORE_UNAVAILABLE', e instanceof Error ? e.message : String(e)));
        },
      ),
    );
  }

  onPacket(conn: GearmanConnection, { spec, args }: Packet): void {
    const { assignments, wakeups } = this.deps;
    this.deps.offload.metrics.gearmanRequest(spec.name);
    const submit = SUBMITS[spec.type];
    if (submit) return this.submit(conn, { fn: args[0], unique: args[1], workload: args[2], ...submit });
    switch (spec.type) {
      case T.SUBMIT_JOB_EPOCH:
        return this.submit(conn, { fn: args[0], unique: args[1], workload: args[3], priority: 'normal', background: true, epochSeconds: atoi(args[2]) });
      case T.SUBMIT_REDUCE_JOB:
      case T.SUBMIT_REDUCE_JOB_BACKGROUND:
        // function, unique, reducer, aggregator (libgearman always sends it empty), workload.
        return this.submit(conn, {
          fn: args[0],
          unique: args[1],
          workload: args[4],
          priority: 'normal',
          background: spec.type === T.SUBMIT_REDUCE_JOB_BACKGROUND,
          reducer: args[2],
        });
      case T.GET_STATUS:
        return conn.reply(this.status(args[0]));
      case T.GET_STATUS_UNIQUE:
        return conn.reply(this.statusByUnique(args[0]));
      case T.ECHO_REQ:
        return conn.reply(response(T.ECHO_RES, [args[0]]));
      case T.OPTION_REQ:
        return conn.reply(this.option(conn, args[0]));
      case T.SET_CLIENT_ID:
        return this.setClientId(conn, args[0]);
      case T.CAN_DO:
        return this.canDo(conn, args[0], 0);
      case T.CAN_DO_TIMEOUT:
        return this.canDo(conn, args[0], atoi(args[1]));
      case T.CANT_DO:
        return this.cantDo(conn, [args[0].toString('utf8')]);
      case T.RESET_ABILITIES:
        return this.cantDo(conn, [...conn.worker.abilities.keys()]);
      case T.PRE_SLEEP:
        return wakeups.preSleep(conn);
      case T.GRAB_JOB:
        return conn.reply(assignments.grab(conn, 'job'));
      case T.GRAB_JOB_UNIQ:
        return conn.reply(assignments.grab(conn, 'uniq'));
      case T.GRAB_JOB_ALL:
        return conn.reply(assignments.grab(conn, 'all'));
      case T.WORK_STATUS:
        return conn.reply(assignments.status(conn, args));
      case T.WORK_DATA:
      case T.WORK_WARNING:
        return conn.reply(assignments.data(conn, spec.type, args));
      case T.WORK_COMPLETE:
        return conn.reply(assignments.complete(conn, args));
      case T.WORK_FAIL:
        return conn.reply(assignments.fail(conn, [args[0]]));
      case T.WORK_EXCEPTION:
        return conn.reply(assignments.fail(conn, args));
      // SUBMIT_JOB_SCHED and ALL_YOURS (gearmand implements neither) and packets only a server sends.
      default:
        return conn.reply(errorPacket(new GearmanInvalidCommandError(spec.type, true)));
    }
  }

  /** Every submit gets exactly one answer, JOB_CREATED or ERROR, in order. */
  private submit(conn: GearmanConnection, req: SubmitRequest): void {
    conn.reply(this.deps.submissions.submit(conn, req));
  }

  private async status(handle: Buffer): Promise<Reply> {
    const id = jobIdOfHandle(handle.toString('latin1'));
    const row = id === null ? null : await this.deps.offload.store.getJob({ id });
    const known = row?.state === 'queued' || row?.state === 'running';
    const [done, total] = this.progressOf(row);
    return response(T.STATUS_RES, [handle, flag(known), flag(row?.state === 'running'), done, total]);
  }

  /** STATUS_RES_UNIQUE: the first field is the unique (gearmand's, not the PROTOCOL document's). */
  private async statusByUnique(unique: Buffer): Promise<Reply> {
    const [row] = await this.deps.offload.store.findJobsByUniqueKey({ uniqueKey: unique.toString('utf8') });
    if (!row) return response(T.STATUS_RES_UNIQUE, [unique, '0', '0', '0', '0', '0']);
    const [done, total] = this.progressOf(row);
    return response(T.STATUS_RES_UNIQUE, [unique, '1', flag(row.state === 'running'), done, total, String(this.deps.listeners.clientCount(row.id))]);
  }

  /** A running job's numerator and denominator: the latest WORK_STATUS if held here, else as stored; 0 otherwise. */
  private progressOf(row: JobRow | null): [string, string] {
    if (row?.state !== 'running') return ['0', '0'];
    const p = this.deps.assignments.progressOf(row.id) ?? { done: row.progressDone ?? 0, total: row.progressTotal ?? 0 };
    return [String(Math.trunc(p.done)), String(Math.trunc(p.total))];
  }

  /** Only "exceptions" exists (the PHP extension requires the answer); the reply echoes its bytes. */
  private option(conn: GearmanConnection, option: Buffer): Reply {
    if (option.toString('latin1').toLowerCase() !== 'exceptions') return errorPacket(new GearmanUnknownOptionError(option.toString('utf8')));
    conn.exceptions = true;
    return response(T.OPTION_RES, [option]);
  }

  private setClientId(conn: GearmanConnection, id: Buffer): void {
    conn.clientId = id.length ? id.toString('utf8') : '-';
    if (conn.worker.isWorker) this.deps.workers.changed(conn);
  }

  private canDo(conn: GearmanConnection, fn: Buffer, timeoutMs: number): void {
    let name: string;
    try {
      name = this.deps.functions.nameOf(fn);
    } catch (err) {
      // CAN_DO has no answer to carry an error: the worker simply never gets jobs of that name.
      this.deps.logger.warn({ err, peer: conn.peer, function: fn.toString('utf8') }, 'gearman: ignoring CAN_DO for a function name Offload cannot use');
      return;
    }
    conn.worker.canDo(name, timeoutMs);
    this.deps.workers.changed(conn);
    this.deps.functions.ensure(name).catch((err) => this.deps.logger.warn({ err, function: name }, 'gearman: could not register the function'));
  }

  private cantDo(conn: GearmanConnection, names: string[]): void {
    this.deps.wakeups.forget(conn, names);
    this.deps.assignments.abilitiesDropped(conn, names);
    conn.worker.cantDo(names);
    this.deps.workers.changed(conn);
  }
}

function flag(value: boolean): string {
  return value ? '1' : '0';
}
