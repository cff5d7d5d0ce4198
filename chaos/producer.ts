/**
 * The producer of a chaos scenario: submits jobs over the HTTP API at a steady rate, each request
 * with an Idempotency-Key, and records every job the server acknowledged. A request that fails
 * (refused, reset, timed out, 5xx) is sent again with the same key until it is answered: it may
 * have been stored, and the key makes sure it is stored once.
 */
import { CHAOS_TASK } from './tasks.js';

export interface ProducerOptions {
  url: string;
  /** Jobs per second offered. */
  rate: number;
  /** How long each job's handler sleeps. */
  handlerMs: number;
  /** Jobs per request (default: what one 50 ms tick needs, at least 1). */
  perRequest?: number;
  /** Requests in flight at most; a tick with that many pending sends nothing (default 16). */
  maxInFlight?: number;
  /** Tells this run's keys from another's. */
  runId: string;
  /** The first job's seq (default 1): producers running side by side use ranges of their own. */
  firstSeq?: number;
}

interface Request {
  firstSeq: number;
  count: number;
  tries: number;
}

export class Producer {
  /** seq → the id of the job the server acknowledged for it. */
  readonly acked = new Map<number, string>();
  /** Requests that failed and were sent again, by what went wrong. */
  readonly failures = new Map<string, number>();
  private nextSeq: number;
  private inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private owed = 0;
  private stopping = false;
  private giveUpAt = Infinity;

  constructor(private readonly opts: ProducerOptions) {
    this.nextSeq = opts.firstSeq ?? 1;
  }

  /** Jobs offered so far. */
  get offered(): number {
    return this.nextSeq - (this.opts.firstSeq ?? 1);
  }

  /** Submits at the configured rate until `stop()`. */
  start(): void {
    const tickMs = 50;
    this.timer = setInterval(() => {
      this.owed += (this.opts.rate * tickMs) / 1000;
      const per = this.opts.perRequest ?? Math.max(1, Math.ceil((this.opts.rate * tickMs) / 1000));
      while (this.owed >= per && this.inFlight.size < (this.opts.maxInFlight ?? 16)) {
        this.owed -= per;
        this.send({ firstSeq: this.take(per), count: per, tries: 0 });
      }
      // Cannot keep up (the server is down or slow): the offered load is dropped, not queued up here.
      if (this.owed > per * 4) this.owed = per;
    }, tickMs);
  }

  /** Submits `total` jobs at once, `perRequest` a request, `parallel` requests at a time; resolves when all are acknowledged. */
  async burst(total: number, perRequest: number, parallel: number): Promise<void> {
    let left = total;
    const lane = async () => {
      while (left > 0 && !this.stopping) {
        const count = Math.min(perRequest, left);
        left -= count;
        await this.deliver({ firstSeq: this.take(count), count, tries: 0 });
      }
    };
    await Promise.all(Array.from({ length: parallel }, lane));
  }

  /** Stops offering new jobs; waits up to `graceMs` for requests still being retried to be answered. */
  async stop(graceMs = 60_000): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    this.giveUpAt = Date.now() + graceMs;
    while (this.inFlight.size) await Promise.race(this.inFlight);
  }

  private take(count: number): number {
    const first = this.nextSeq;
    this.nextSeq += count;
    return first;
  }

  private send(r: Request): void {
    const p = this.deliver(r).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Sends one request until it is answered (or the grace period after stop runs out). */
  private async deliver(r: Request): Promise<void> {
    for (;;) {
      const outcome = await this.post(r);
      if (outcome === 'ok') return;
      this.failures.set(outcome, (this.failures.get(outcome) ?? 0) + 1);
      if (Date.now() > this.giveUpAt) return;
      r.tries++;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** Math.min(r.tries, 5))));
    }
  }

  private async post(r: Request): Promise<'ok' | string> {
    const jobs = Array.from({ length: r.count }, (_, i) => ({ task: CHAOS_TASK, input: { seq: r.firstSeq + i, ms: this.opts.handlerMs } }));
    try {
      const res = await fetch(`${this.opts.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${this.opts.runId}-${r.firstSeq}` },
        body: JSON.stringify(jobs),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { jobs?: { id: string; input: { seq: number } }[]; error?: { code: string } };
      if (res.status >= 300 || !body.jobs) return body.error?.code ?? `HTTP ${res.status}`;
      for (const j of body.jobs) this.acked.set(j.input.seq, j.id);
      return 'ok';
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name);
    }
  }
}
