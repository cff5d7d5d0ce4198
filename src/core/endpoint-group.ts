/**
 * Endpoint groups: named sets of HTTP endpoints that a task's jobs are pushed to, one endpoint per
 * attempt, chosen by the group's balancer (Background Process's service groups and service hosts).
 * A task bound to a group is claimed only by that group's push dispatchers, never by pull workers.
 * This file is the model and its checks; the dispatching is in src/push/.
 */
import { InvalidEndpointGroupError } from './errors.js';
import { checkTaskName, type ResolvedTaskSettings, resolveTaskSettings, type TaskSettings } from './task.js';

export const BALANCERS = ['random', 'round-robin', 'least-outstanding', 'most-idle'] as const;
export type Balancer = (typeof BALANCERS)[number];

/** Credentials sent with every request to an endpoint (never logged, never in a job's record). */
export type EndpointCredentials = { bearer: string } | { username: string; password: string } | { headers: Record<string, string> };

export interface EndpointSettings {
  /** Names the endpoint in slots, health and listings (default: its URL). */
  id?: string;
  /** Where jobs are POSTed. */
  url: string;
  /** Sent as the Host header (a name-based virtual host on a shared address). */
  hostHeader?: string;
  credentials?: EndpointCredentials;
  /** Share of the jobs under `random` and `round-robin`, and divisor under `least-outstanding` (default 1). */
  weight?: number;
  /** Most jobs outstanding at this endpoint at once, across every server on the store (default: no limit). */
  concurrency?: number | null;
  /** Probed for room under `most-idle`: a JSON `{ "idle": n }` or Apache's `server-status?auto` text (`IdleWorkers: n`). */
  statusUrl?: string;
  /** GET to bring the endpoint back in after it was taken out (default: its URL); any answer below 500 will do. */
  healthUrl?: string;
}

export interface HealthSettings {
  /** Failed requests in a row (5xx, timeout, refused) that take an endpoint out (default 3). */
  failures?: number;
  /** How long it stays out before the first probe (default 5 000 ms); doubles after each failed probe, up to 60 s. */
  probeAfterMs?: number;
}

export interface EndpointGroupSettings {
  name: string;
  endpoints: EndpointSettings[];
  /** How an endpoint is chosen for each attempt (default `round-robin`). */
  balancer?: Balancer;
  /** The tasks whose jobs this group runs. A task belongs to one group at most. */
  tasks: string[];
  /**
   * The tasks' settings (attempts, backoff, timeout, priority, retention): given, they replace
   * the tasks' settings in the store each time the group is saved; absent, a task the store does
   * not know yet is registered with the defaults, and a known one keeps its own.
   */
  taskSettings?: Omit<TaskSettings, 'schedule' | 'input'>;
  /** The key of the `Offload-Signature` header every request carries (at least 16 characters). */
  secret: string;
  /** Most jobs outstanding in the whole group at once, across every server (default: the endpoints' caps added up, or 100). */
  concurrency?: number | null;
  /** Each request's whole exchange (default 30 000 ms; a task's own timeoutMs, when shorter, wins). */
  timeoutMs?: number;
  /** The largest response body taken as a result (default 1 MiB). */
  maxResponseBytes?: number;
  /** After a 202, how long without a callback before the attempt fails as silent (default 60 000 ms). */
  callbackTimeoutMs?: number;
  health?: HealthSettings;
  /** Addresses or CIDRs the endpoints may have although private, loopback or link-local (denied otherwise). */
  allowAddresses?: string[];
}

export interface Endpoint {
  id: string;
  url: string;
  hostHeader: string | null;
  credentials: EndpointCredentials | null;
  weight: number;
  concurrency: number | null;
  statusUrl: string | null;
  healthUrl: string | null;
}

/** A group after defaults: what the store keeps and every server reads. */
export interface EndpointGroup {
  name: string;
  endpoints: Endpoint[];
  balancer: Balancer;
  tasks: string[];
  taskSettings: ResolvedTaskSettings | null;
  secret: string;
  concurrency: number;
  timeoutMs: number;
  maxResponseBytes: number;
  callbackTimeoutMs: number;
  health: Required<HealthSettings>;
  allowAddresses: string[];
}

export interface EndpointGroupRecord {
  group: EndpointGroup;
  createdAt: number;
  updatedAt: number;
}

const GROUP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
const MAX_ENDPOINTS = 100;
const DEFAULT_GROUP_CONCURRENCY = 100;
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The prefix of the worker ids of a group's push dispatchers: the stores let only them claim the group's tasks. */
export function pushWorkerPrefix(group: string): string {
  return `push:${group}:`;
}

/** Whether a worker id is one only push dispatchers may use (an agent asking for one is refused). */
export function isPushWorkerId(workerId: string): boolean {
  return workerId.startsWith('push:');
}

export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !GROUP_NAME.test(name))
    throw new InvalidEndpointGroupError(String(name), 'a name is 1–100 letters, digits and _ . -, not starting with a punctuation mark');
  return name;
}

/** Checks a group's settings and fills in the defaults; InvalidEndpointGroupError names what is wrong. */
export function resolveEndpointGroup(s: EndpointGroupSettings): EndpointGroup {
  if (typeof s !== 'object' || s === null) throw new InvalidEndpointGroupError('?', 'settings must be an object');
  const name = checkGroupName(s.name);
  const fail = (problem: string): never => {
    throw new InvalidEndpointGroupError(name, problem);
  };
  if (!Array.isArray(s.endpoints) || s.endpoints.length === 0 || s.endpoints.length > MAX_ENDPOINTS) fail(`endpoints must list 1–${MAX_ENDPOINTS} endpoints`);
  const endpoints = s.endpoints.map((e, i) => resolveEndpoint(e, i, fail));
  const ids = new Set(endpoints.map((e) => e.id));
  if (ids.size !== endpoints.length) fail('two endpoints have the same id (give each an `id`, or different URLs)');
  const balancer = s.balancer ?? 'round-robin';
  if (!BALANCERS.includes(balancer)) fail(`balancer must be one of ${BALANCERS.join(', ')}`);
  if (!Array.isArray(s.tasks) || s.tasks.length === 0) fail('tasks must name at least one task');
  const tasks = [...new Set(s.tasks.map((t) => checkTaskName(t)))];
  if (typeof s.secret !== 'string' || s.secret.length < 16) fail('secret must be a string of at least 16 characters (the key of the request signature)');
  const caps = endpoints.map((e) => e.concurrency);
  const summed = caps.every((c) => c !== null) ? (caps as number[]).reduce((a, b) => a + b, 0) : DEFAULT_GROUP_CONCURRENCY;
  const concurrency = optionalInt(s.concurrency, 'concurrency', fail) ?? summed;
  return {
    name,
    endpoints,
    balancer,
    tasks,
    taskSettings: s.taskSettings === undefined ? null : resolveGroupTaskSettings(name, s.taskSettings),
    secret: s.secret,
    concurrency,
    timeoutMs: optionalInt(s.timeoutMs, 'timeoutMs', fail) ?? 30_000,
    maxResponseBytes: Math.min(optionalInt(s.maxResponseBytes, 'maxResponseBytes', fail) ?? 1024 * 1024, MAX_RESPONSE_BYTES),
    callbackTimeoutMs: optionalInt(s.callbackTimeoutMs, 'callbackTimeoutMs', fail) ?? 60_000,
    health: {
      failures: optionalInt(s.health?.failures, 'health.failures', fail) ?? 3,
      probeAfterMs: optionalInt(s.health?.probeAfterMs, 'health.probeAfterMs', fail) ?? 5000,
    },
    allowAddresses: resolveAllowed(s.allowAddresses, fail),
  };
}

function resolveGroupTaskSettings(name: string, t: EndpointGroupSettings['taskSettings']): ResolvedTaskSettings {
  try {
    return resolveTaskSettings(name, { ...t, schedule: undefined, input: undefined });
  } catch (err) {
    throw new InvalidEndpointGroupError(name, `taskSettings: ${(err as Error).message}`);
  }
}

function resolveEndpoint(e: EndpointSettings, i: number, fail: (problem: string) => never): Endpoint {
  const at = `endpoints[${i}]`;
  if (typeof e !== 'object' || e === null) fail(`${at} must be an object with a url`);
  const url = checkUrl(e.url, `${at}.url`, fail);
  if (e.hostHeader !== undefined && (typeof e.hostHeader !== 'string' || !/^[A-Za-z0-9.\-:[\]]{1,255}$/.test(e.hostHeader)))
    fail(`${at}.hostHeader must be a host name (and port)`);
  const weight = e.weight ?? 1;
  if (!Number.isSafeInteger(weight) || weight < 1 || weight > 1000) fail(`${at}.weight must be an integer from 1 to 1000`);
  const id = e.id ?? url;
  if (typeof id !== 'string' || id.length === 0 || id.length > 500) fail(`${at}.id must be a string of 1–500 characters`);
  return {
    id,
    url,
    hostHeader: e.hostHeader ?? null,
    credentials: resolveCredentials(e.credentials, at, fail),
    weight,
    concurrency: optionalInt(e.concurrency, `${at}.concurrency`, fail),
    statusUrl: e.statusUrl === undefined ? null : checkUrl(e.statusUrl, `${at}.statusUrl`, fail),
    healthUrl: e.healthUrl === undefined ? null : checkUrl(e.healthUrl, `${at}.healthUrl`, fail),
  };
}

function resolveCredentials(c: EndpointCredentials | undefined, at: string, fail: (problem: string) => never): EndpointCredentials | null {
  if (c === undefined || c === null) return null;
  const text = (v: unknown) => typeof v === 'string' && v.length > 0 && !/[\r\n]/.test(v);
  if ('bearer' in c && text(c.bearer)) return { bearer: c.bearer };
  if ('username' in c && text(c.username) && typeof c.password === 'string' && !/[\r\n]/.test(c.password))
    return { username: c.username, password: c.password };
  if (
    'headers' in c &&
    typeof c.headers === 'object' &&
    c.headers !== null &&
    Object.entries(c.headers).every(([k, v]) => /^[A-Za-z0-9-]+$/.test(k) && text(v))
  )
    return { headers: { ...c.headers } };
  return fail(`${at}.credentials must be { bearer }, { username, password } or { headers: { name: value } }, without line breaks`);
}

function checkUrl(v: unknown, at: string, fail: (problem: string) => never): string {
  let u: URL | undefined;
  try {
    u = typeof v === 'string' ? new URL(v) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) fail(`${at} must be an absolute http:// or https:// URL`);
  return String(v);
}

function optionalInt(v: unknown, at: string, fail: (problem: string) => never): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || (v as number) < 1) fail(`${at} must be an integer ≥ 1`);
  return v as number;
}

function resolveAllowed(v: unknown, fail: (problem: string) => never): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((a) => typeof a === 'string')) fail('allowAddresses must be a list of addresses or CIDRs');
  return [...(v as string[])];
}

/** A group as listings show it: everything but the secret and the credentials. */
export function redactedGroup(g: EndpointGroup): Omit<EndpointGroup, 'secret' | 'endpoints'> & { endpoints: Omit<Endpoint, 'credentials'>[] } {
  const { secret: _secret, endpoints, ...rest } = g;
  return { ...rest, endpoints: endpoints.map(({ credentials: _c, ...e }) => e) };
}
