// core/rate-limits.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('core/rate-limits on PostgreSQL')) await import('../core/rate-limits.test.js');
