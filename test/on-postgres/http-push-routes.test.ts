// http/push-routes.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('http/push-routes on PostgreSQL')) await import('../http/push-routes.test.js');
