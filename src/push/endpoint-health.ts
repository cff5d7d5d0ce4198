/**
 * What one process knows of its group's endpoints: which are out (failed too often in a row, until
 * a probe answers), and how much room each reported (for `most-idle`). Each server learns this from
 * its own requests and probes; what all servers share (slots, caps) is in the store.
 */
import type { Endpoint, HealthSettings } from '../core/endpoint-group.js';
import type { BalancerView } from './balancer.js';

/** The longest an endpoint stays out between probes. */
export const MAX_PROBE_DELAY_MS = 60_000;

interface EndpointState {
  failures: number;
  /** While set, the endpoint is out; it is probed from then on. */
  outUntil: number | null;
  probeDelayMs: number;
  /** Room last reported, and jobs sent to it since. */
  reportedIdle: number | undefined;
  sentSinceReport: number;
}

export interface EndpointStatus {
  id: string;
  healthy: boolean;
  failures: number;
  /** When a probe next tries an endpoint that is out. */
  probeAt: number | null;
  idle: number | null;
}

export class EndpointHealth implements BalancerView {
  private readonly states = new Map<string, EndpointState>();

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly settings: Required<HealthSettings>,
  ) {
    for (const e of endpoints)
      this.states.set(e.id, { failures: 0, outUntil: null, probeDelayMs: settings.probeAfterMs, reportedIdle: undefined, sentSinceReport: 0 });
  }

  isOut(id: string): boolean {
    return this.state(id).outUntil !== null;
  }

  idle(id: string): number | undefined {
    const s = this.state(id);
    return s.reportedIdle === undefined ? undefined : s.reportedIdle - s.sentSinceReport;
  }

  /** A request to the endpoint failed (5xx, timeout, refused): out after `failures` in a row. Returns true when this took it out. */
  failed(id: string, now: number): boolean {
    const s = this.state(id);
    s.failures++;
    if (s.outUntil !== null || s.failures < this.settings.failures) return false;
    s.outUntil = now + s.probeDelayMs;
    return true;
  }

  /** A request got an answer that says the endpoint works (any status below 500). */
  succeeded(id: string): void {
    const s = this.state(id);
    s.failures = 0;
  }

  /** Endpoints out whose probe is due. */
  dueForProbe(now: number): Endpoint[] {
    return this.endpoints.filter((e) => {
      const at = this.state(e.id).outUntil;
      return at !== null && at <= now;
    });
  }

  /** The earliest probe due, for the timer. */
  nextProbeAt(): number | null {
    let next: number | null = null;
    for (const s of this.states.values()) if (s.outUntil !== null && (next === null || s.outUntil < next)) next = s.outUntil;
    return next;
  }

  /** A probe answered: back in. Returns true when it was out. */
  probeAnswered(id: string): boolean {
    const s = this.state(id);
    const wasOut = s.outUntil !== null;
    s.outUntil = null;
    s.failures = 0;
    s.probeDelayMs = this.settings.probeAfterMs;
    return wasOut;
  }

  /** A probe failed: out for twice as long, up to MAX_PROBE_DELAY_MS. */
  probeFailed(id: string, now: number): void {
    const s = this.state(id);
    s.probeDelayMs = Math.min(s.probeDelayMs * 2, MAX_PROBE_DELAY_MS);
    s.outUntil = now + s.probeDelayMs;
  }

  sent(id: string): void {
    this.state(id).sentSinceReport++;
  }

  reportIdle(id: string, idle: number): void {
    const s = this.state(id);
    s.reportedIdle = idle;
    s.sentSinceReport = 0;
  }

  status(): EndpointStatus[] {
    return this.endpoints.map((e) => {
      const s = this.state(e.id);
      return { id: e.id, healthy: s.outUntil === null, failures: s.failures, probeAt: s.outUntil, idle: this.idle(e.id) ?? null };
    });
  }

  private state(id: string): EndpointState {
    const s = this.states.get(id);
    if (!s) throw new Error(`no endpoint "${id}" in this group`);
    return s;
  }
}

/** The room an endpoint reports: an `Offload-Idle` header, a JSON `{ "idle": n }`, or Apache's `server-status?auto` (`IdleWorkers: n`). */
export function parseIdle(body: string, header: string | string[] | undefined): number | undefined {
  const fromHeader = Number(Array.isArray(header) ? header[0] : header);
  if (header !== undefined && Number.isFinite(fromHeader) && fromHeader >= 0) return Math.floor(fromHeader);
  const apache = /^IdleWorkers:\s*(\d+)\s*$/m.exec(body);
  if (apache) return Number(apache[1]);
  try {
    const idle = (JSON.parse(body) as { idle?: unknown }).idle;
    if (typeof idle === 'number' && Number.isFinite(idle) && idle >= 0) return Math.floor(idle);
  } catch {
    // neither: the endpoint said nothing of its room
  }
  return undefined;
}
