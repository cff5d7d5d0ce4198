import pg from 'pg';
import { StoreUnavailableError } from '../../core/errors.js';
import { clientConfig, type PgTarget } from './connection.js';
import { toStoreError } from './errors.js';

export interface SessionHooks {
  /** Runs on every new connection before it is used (LISTEN again, for one). */
  onConnect(client: pg.Client): Promise<void>;
  /** The connection died: whatever belonged to it (LISTENs, session locks) is gone. */
  onLost(): void;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * One dedicated connection outside the pool, for what must live on a single session: LISTEN and
 * session-level advisory locks. It connects on first use and, once someone relies on it
 * (`keepAlive`), reconnects by itself after any loss, backing off from 100 ms to 5 s.
 */
export class PgSession {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = FIRST_RETRY_MS;
  private wanted = false;
  private closed = false;

  constructor(
    private readonly target: PgTarget,
    private readonly hooks: SessionHooks,
  ) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Keeps the connection up from now on, reconnecting after losses, until close(). */
  keepAlive(): void {
    if (this.wanted || this.closed) return;
    this.wanted = true;
    void this.connect().catch(() => this.scheduleReconnect());
  }

  /** Runs `fn` on the session's connection, connecting first if needed. */
  async use<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await fn(client);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  private connect(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client(clientConfig(this.target));
    // Until the connection is up, errors arrive as the rejection of connect().
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    try {
      await client.connect();
      await this.hooks.onConnect(client);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw toStoreError(err);
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new StoreUnavailableError('the store is closed');
    }
    this.client = client;
    this.retryDelay = FIRST_RETRY_MS;
    return client;
  }

  private dropped(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    this.hooks.onLost();
    if (this.wanted) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(MAX_RETRY_MS, this.retryDelay * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed || this.client) return;
      this.connect().catch(() => this.scheduleReconnect());
    }, delay);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
