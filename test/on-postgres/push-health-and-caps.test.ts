// push/health-and-caps.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('push/health-and-caps on PostgreSQL')) await import('../push/health-and-caps.test.js');
