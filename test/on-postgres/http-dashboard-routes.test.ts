// http/dashboard-routes.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('http/dashboard-routes on PostgreSQL')) await import('../http/dashboard-routes.test.js');
