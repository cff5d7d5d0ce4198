// core/flows.test.ts, run again on PostgreSQL (a schema of its own per test).
import { postgresReady } from '../helpers/postgres.js';

process.env.OFFLOAD_TEST_STORE = 'postgres';
if (await postgresReady('core/flows on PostgreSQL')) await import('../core/flows.test.js');
