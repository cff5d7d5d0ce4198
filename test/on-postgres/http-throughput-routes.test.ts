// http/throughput-routes.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('http/throughput-routes on PostgreSQL')) await import('../http/throughput-routes.test.js');
