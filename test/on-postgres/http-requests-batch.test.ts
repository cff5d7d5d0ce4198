// http-requests/batch.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('http-requests/batch on PostgreSQL')) await import('../http-requests/batch.test.js');
