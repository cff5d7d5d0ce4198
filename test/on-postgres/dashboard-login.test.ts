// dashboard/login.test.ts, run again on PostgreSQL (a schema of its own per test): a smoke run of the dashboard on the scale-out store.
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('dashboard/login on PostgreSQL')) await import('../dashboard/login.test.js');
