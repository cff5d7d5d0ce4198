// dashboard/shared-sessions.test.ts, run again on PostgreSQL (a schema of its own): the servers of a scale-out store share logins.
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('dashboard/shared-sessions on PostgreSQL')) await import('../dashboard/shared-sessions.test.js');
