/**
 * What goes wrong in a chaos scenario, done for real: PostgreSQL restarted, Offload's backends
 * terminated, connections held until the server has almost none left, a transaction left idle, a
 * SQLite store's filesystem filled up.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { TEST_PG_URL, withAdmin } from '../test/helpers/postgres.js';

export function admin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  return client.connect().then(() => client);
}

/** `pg_ctlcluster … restart`: every connection is dropped, the server is down for a moment. */
export async function restartPostgres(): Promise<void> {
  const version = readdirSync('/etc/postgresql')[0];
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'ignore' });
  for (let i = 0; i < 60; i++) {
    if (spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']).status === 0) return;
    await sleep(250);
  }
  throw new Error('PostgreSQL did not come back within 15 s of its restart');
}

/** Terminates every backend of `applicationName` every `everyMs` for `forMs`; how many in all. */
export async function terminateBackends(applicationName: string, everyMs: number, forMs: number): Promise<number> {
  return withAdmin(async (c) => {
    let killed = 0;
    const end = Date.now() + forMs;
    while (Date.now() < end) {
      const r = await c.query('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [
        applicationName,
      ]);
      killed += r.rows[0].n as number;
      await sleep(everyMs);
    }
    return killed;
  });
}

/**
 * Opens idle connections until only `leave` of max_connections are free (superusers' reserved
 * slots included: Offload connects as a superuser here). Returns how many it holds and a release.
 */
export async function holdConnections(leave: number): Promise<{ held: number; release(): Promise<void> }> {
  const clients: pg.Client[] = [];
  const [max, used] = await withAdmin(async (c) => {
    const m = Number((await c.query('SHOW max_connections')).rows[0].max_connections);
    const u = Number((await c.query('SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = $1', ['client backend'])).rows[0].n);
    return [m, u];
  });
  for (let i = 0; i < max - used - leave; i++) {
    try {
      clients.push(await admin());
    } catch {
      break; // the server has none left: that is what we wanted
    }
  }
  return {
    held: clients.length,
    release: async () => {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    },
  };
}

/** A session that opens a transaction, takes a snapshot and sits idle in it (vacuum cannot clean up behind it). */
export async function idleInTransaction(): Promise<{ release(): Promise<void> }> {
  const c = await admin();
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  await c.query('SELECT txid_current(), count(*) FROM pg_class');
  return {
    release: async () => {
      await c.query('ROLLBACK').catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

export interface TupleCounts {
  live: number;
  dead: number;
}

/** Live and dead tuples of the schema's jobs table, as the statistics have them. */
export async function jobTuples(schema: string): Promise<TupleCounts> {
  return withAdmin(async (c) => {
    const r = await c.query('SELECT n_live_tup AS live, n_dead_tup AS dead FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2', [schema, 'jobs']);
    return { live: Number(r.rows[0]?.live ?? 0), dead: Number(r.rows[0]?.dead ?? 0) };
  });
}

/**
 * A filesystem of `sizeMb` for a SQLite store (tmpfs), and a ballast file that fills it up to
 * `leaveKb` free. Needs root (mount), as on this project's machines.
 */
export class SmallDisk {
  private constructor(readonly dir: string) {}

  static mount(dir: string, sizeMb: number): SmallDisk {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
    return new SmallDisk(dir);
  }

  get freeBytes(): number {
    const s = statfsSync(this.dir);
    return s.bavail * s.bsize;
  }

  /** Fills the filesystem until `leaveKb` are free. */
  fill(leaveKb: number): void {
    const chunk = Buffer.alloc(1024 * 1024);
    let i = 0;
    while (this.freeBytes > leaveKb * 1024) {
      const left = this.freeBytes - leaveKb * 1024;
      writeFileSync(join(this.dir, `ballast-${i++}`), left >= chunk.length ? chunk : chunk.subarray(0, left));
    }
  }

  /** Frees the space the ballast took. */
  free(): void {
    for (const f of readdirSync(this.dir).filter((n) => n.startsWith('ballast-'))) rmSync(join(this.dir, f));
  }

  unmount(): void {
    spawnSync('umount', ['-l', this.dir]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
