/**
 * The text admin protocol's grammar and gearmand 1.1.20's exact answers, line endings included
 * (lists end in ".\n", `OK <value>` in "\n", bare OK and errors in "\r\n"). Pure.
 */
import { atoi } from './protocol.js';

export interface AdminCommand {
  /** The first word, lower-cased (commands are case-insensitive). */
  name: string;
  /** The words after it, as typed. */
  args: string[];
  /** The first word as typed, for the unknown-command answer. */
  raw: string;
}

/** Splits on runs of spaces, as gearmand does; null for an empty line. */
export function parseAdminLine(line: string): AdminCommand | null {
  const words = line.split(' ').filter((w) => w !== '');
  if (words.length === 0) return null;
  return { name: words[0].toLowerCase(), args: words.slice(1), raw: words[0] };
}

export const OK = 'OK\r\n';

export function okValue(value: string | number): string {
  return `OK ${value}\n`;
}

/** `ERR CODE text`, with the text's spaces as `+`, as gearmand writes it. */
export function err(code: string, text = ''): string {
  return text === '' ? `ERR ${code}\r\n` : `ERR ${code} ${text.replace(/ /g, '+')}\r\n`;
}

export function unknownCommand(raw: string): string {
  return `ERR UNKNOWN_COMMAND Unknown+server+command${raw}\r\n`;
}

export function incompleteArguments(command: string): string {
  return err('INVALID_ARGUMENTS', `An incomplete set of arguments was sent to this command ${command}`);
}

export function list(lines: string[]): string {
  return `${lines.map((l) => `${l}\n`).join('')}.\n`;
}

export interface StatusRow {
  fn: string;
  total: number;
  running: number;
  workers: number;
}

/** `status`: FUNC, TOTAL (queued + running), RUNNING, WORKERS, tab-separated. */
export function statusLines(rows: StatusRow[]): string {
  return list(rows.map((r) => `${r.fn}\t${r.total}\t${r.running}\t${r.workers}`));
}

export interface PriorityStatusRow {
  fn: string;
  high: number;
  normal: number;
  low: number;
  workers: number;
}

/** `prioritystatus`: `FUNC\tHIGH\tNORMAL\tLOW\tWORKERS` per function, queued jobs only (gearmand ≥ 1.1.15). */
export function priorityStatusLines(rows: PriorityStatusRow[]): string {
  return list(rows.map((r) => `${r.fn}\t${r.high}\t${r.normal}\t${r.low}\t${r.workers}`));
}

export interface WorkerRow {
  fd: number;
  ip: string;
  clientId: string;
  functions: string[];
}

/** `workers`: one line per connection, `FD IP CLIENT_ID :` and then ` FUNC` per ability. */
export function workerLines(rows: WorkerRow[]): string {
  return list(rows.map((r) => `${r.fd} ${r.ip} ${r.clientId} :${r.functions.map((f) => ` ${f}`).join('')}`));
}

export interface JobListRow {
  handle: string;
  retries: number;
  ignored: boolean;
  queued: boolean;
}

/** `show jobs`: HANDLE, RETRIES, IGNORE_JOB, JOB_QUEUED, tab-separated. */
export function jobLines(rows: JobListRow[]): string {
  return list(rows.map((r) => `${r.handle}\t${r.retries}\t${r.ignored ? 1 : 0}\t${r.queued ? 1 : 0}`));
}

export interface QueueLimitArgs {
  fn: string;
  limits: { high: number; normal: number; low: number };
}

/** `maxqueue F [N]` (all priorities) or `maxqueue F HIGH NORMAL LOW`; null when the function is missing. */
export function parseMaxQueue(args: string[]): QueueLimitArgs | null {
  if (args.length === 0) return null;
  const n = args.slice(1).map((a) => atoi(a));
  if (n.length >= 3) return { fn: args[0], limits: { high: n[0], normal: n[1], low: n[2] } };
  const all = n[0] ?? 0;
  return { fn: args[0], limits: { high: all, normal: all, low: all } };
}
