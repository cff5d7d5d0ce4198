// observability/metrics.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('observability/metrics on PostgreSQL')) await import('../observability/metrics.test.js');
