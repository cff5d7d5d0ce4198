import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { StoreChange } from '../store.js';
import type { Db } from './connection.js';
import type { PgSession } from './session.js';

/** What one write changed, as far as other processes care. */
export interface ChangeNote {
  /** Tasks whose queue changed (new, requeued or released jobs; a slot freed under a limit). */
  tasks?: Iterable<string>;
  /** Jobs that reached a final state. */
  finished?: Iterable<string>;
  finishedBatches?: Iterable<string>;
}

/** NOTIFY payloads must stay under 8,000 bytes. */
const MAX_PAYLOAD = 7800;

/**
 * At most one NOTIFY per this many ms from one store. The first note after a quiet spell goes out
 * at once; under load, notes wait up to this long and go out together. Each NOTIFY costs a round
 * trip and a delivery to every listener: sent once per worker turn, they cost a third of a
 * worker's throughput (measured: 3,800 vs 5,500–6,300 jobs/s), for news a few ms fresher.
 */
const MIN_GAP_MS = 2;

interface Payload {
  /** The sending store instance: a store ignores its own notes (its process already knows). */
  s: string;
  t?: string[];
  f?: string[];
  b?: string[];
}

/**
 * The change feed over LISTEN/NOTIFY. Writers publish what they changed after their transaction
 * commits; notes are coalesced (one NOTIFY round trip in flight, everything that arrives
 * meanwhile goes out together in the next). Listeners receive them on the dedicated session
 * connection, coalesced again per turn of the event loop. After every (re)connection, and on a
 * slow backstop timer, watchers hear "anything may have changed" ({ tasks: null }), so a lost
 * notification (connection drop, a process that died between commit and notify) costs a delay,
 * never a hang.
 */
export class ChangeFeed {
  private readonly sender = randomUUID();
  private readonly ownPrefix = `{"s":"${this.sender}"`;
  private readonly outTasks = new Set<string>();
  private outFinished: string[] = [];
  private outBatches: string[] = [];
  private sending: Promise<void> | undefined;
  private sendScheduled = false;
  private lastSentAt = -Infinity;

  private readonly watchers = new Set<(change: StoreChange) => void>();
  private listening = false;
  private listeningOn: pg.Client | undefined;
  private inbox: { tasks: Set<string> | null; finished: Set<string> | null; batches: Set<string> | null } | undefined;
  private backstop: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly session: PgSession,
    readonly channel: string,
    private readonly backstopMs: number,
  ) {}

  /** LISTENing now: something watches, and the session that LISTENed is connected. */
  get listeningNow(): boolean {
    return this.listening && this.listeningOn !== undefined && this.session.connected;
  }

  // ---- sending ---------------------------------------------------------------------------------

  publish(note: ChangeNote): void {
    if (this.closed) return;
    let any = false;
    for (const t of note.tasks ?? []) {
      this.outTasks.add(t);
      any = true;
    }
    for (const id of note.finished ?? []) {
      this.outFinished.push(id);
      any = true;
    }
    for (const id of note.finishedBatches ?? []) {
      this.outBatches.push(id);
      any = true;
    }
    if (any) this.scheduleSend();
  }

  private scheduleSend(): void {
    if (this.sending || this.sendScheduled) return;
    this.sendScheduled = true;
    const go = () => {
      this.sendScheduled = false;
      this.lastSentAt = performance.now();
      this.sending = this.send().finally(() => {
        this.sending = undefined;
        if (this.outTasks.size || this.outFinished.length || this.outBatches.length) this.scheduleSend();
      });
    };
    // Notes published in the same turn of the event loop go out in one NOTIFY, and no sooner
    // than MIN_GAP_MS after the previous one.
    const wait = this.lastSentAt + MIN_GAP_MS - performance.now();
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  private async send(): Promise<void> {
    const payloads = this.takePayloads();
    try {
      // Notes are news, not data: their transaction need not wait for the WAL flush.
      await this.db.query(
        "SELECT pg_notify($1, p), set_config('synchronous_commit', 'off', true) FROM unnest($2::text[]) AS p",
        [this.channel, payloads],
        'offload_notify',
      );
    } catch {
      // Nothing to retry: the data is committed, and listeners' backstop will find it.
    }
  }

  /** Everything pending, cut into payloads that fit. */
  private takePayloads(): string[] {
    const base: Payload = { s: this.sender };
    if (this.outTasks.size) base.t = [...this.outTasks];
    const ids: ['f' | 'b', string][] = [
      ...this.outFinished.map((id) => ['f', id] as ['f', string]),
      ...this.outBatches.map((id) => ['b', id] as ['b', string]),
    ];
    this.outTasks.clear();
    this.outFinished = [];
    this.outBatches = [];
    const out: string[] = [];
    let current: Payload = base;
    let size = JSON.stringify(current).length;
    for (const [kind, id] of ids) {
      if (size + id.length + 8 > MAX_PAYLOAD) {
        out.push(JSON.stringify(current));
        current = { s: this.sender };
        size = JSON.stringify(current).length;
      }
      (current[kind] ??= []).push(id);
      size += id.length + 8;
    }
    out.push(JSON.stringify(current));
    return out;
  }

  /** Waits until pending notes are sent (before the pool closes). */
  async drain(): Promise<void> {
    while (this.sending || this.sendScheduled) {
      await (this.sending ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  // ---- receiving -------------------------------------------------------------------------------

  watch(listener: (change: StoreChange) => void): () => void {
    if (this.closed) return () => undefined;
    this.watchers.add(listener);
    if (!this.listening) {
      this.listening = true;
      // On the connection the session has, or will have (a failure here is retried by keepAlive's reconnects).
      void this.session.use((c) => this.listen(c)).catch(() => undefined);
      this.session.keepAlive();
    }
    if (!this.backstop) {
      // Not unref'd: someone waiting for a result, or a running worker, keeps the process alive.
      this.backstop = setInterval(() => this.dispatch({ tasks: null }), this.backstopMs);
    }
    return () => {
      this.watchers.delete(listener);
      if (this.watchers.size === 0 && this.backstop) {
        clearInterval(this.backstop);
        this.backstop = undefined;
      }
    };
  }

  /** Session hook: a new connection. LISTEN on it, then tell watchers to look again. */
  async onConnect(client: pg.Client): Promise<void> {
    if (!this.listening) return;
    await this.listen(client);
  }

  /** LISTENs on `client`, once per connection. */
  private async listen(client: pg.Client): Promise<void> {
    if (this.listeningOn === client) return;
    this.listeningOn = client;
    client.on('notification', (msg) => {
      if (msg.channel === this.channel) this.receive(msg.payload);
    });
    await client.query(`LISTEN ${this.channel}`);
    // Changes made while nobody listened (before the first LISTEN, or during an outage) were not heard.
    this.dispatchSoon(null);
  }

  private receive(text: string | undefined): void {
    // Our own notes come back too; skip them without parsing.
    if (text?.startsWith(this.ownPrefix)) return;
    let p: Payload;
    try {
      p = JSON.parse(text ?? '') as Payload;
    } catch {
      return this.dispatchSoon(null);
    }
    if (p.s === this.sender) return;
    this.dispatchSoon(p);
  }

  /** Merges notes until the next turn of the event loop; `null` means "anything may have changed". */
  private dispatchSoon(p: Payload | null): void {
    if (this.watchers.size === 0) return;
    const first = this.inbox === undefined;
    const inbox = (this.inbox ??= { tasks: new Set(), finished: new Set(), batches: new Set() });
    if (p === null) {
      inbox.tasks = inbox.finished = inbox.batches = null;
    } else {
      for (const t of p.t ?? []) inbox.tasks?.add(t);
      for (const id of p.f ?? []) inbox.finished?.add(id);
      for (const id of p.b ?? []) inbox.batches?.add(id);
    }
    if (!first) return;
    setImmediate(() => {
      const i = this.inbox!;
      this.inbox = undefined;
      const change: StoreChange = { tasks: i.tasks === null ? null : [...i.tasks] };
      if (i.finished !== null) change.finished = [...i.finished];
      if (i.batches !== null) change.finishedBatches = [...i.batches];
      this.dispatch(change);
    });
  }

  private dispatch(change: StoreChange): void {
    if (this.closed) return;
    for (const w of [...this.watchers]) w(change);
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    if (this.backstop) clearInterval(this.backstop);
    this.watchers.clear();
  }
}
