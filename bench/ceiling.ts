/**
 * What the server and its disk allow at the moment of the run, measured with bare `pg`: awaited
 * single INSERTs (each a durable commit, W1's ceiling) and a plain SELECT (a round trip). The
 * machine is shared, so the bench prints these next to its own figures.
 */
import pg from 'pg';
import { dropSchema } from './peers/postgres.js';

export interface Ceiling {
  insertsPerSecond: number;
  commitMs: number;
  roundTripMs: number;
}

export async function measureCeiling(serverUrl: string, n = 2000): Promise<Ceiling> {
  const schema = `offload_bench_ceiling_${process.pid}`;
  const url = new URL(serverUrl);
  url.search = '';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (id bigserial PRIMARY KEY, v text)`);
    for (let i = 0; i < 100; i++) await client.query({ name: 'i', text: `INSERT INTO ${schema}.t (v) VALUES ($1)`, values: ['w'] });
    let start = performance.now();
    for (let i = 0; i < n; i++) await client.query({ name: 'i', text: `INSERT INTO ${schema}.t (v) VALUES ($1)`, values: [`{"i":${i}}`] });
    const insertMs = performance.now() - start;
    start = performance.now();
    for (let i = 0; i < n; i++) await client.query({ name: 's', text: 'SELECT 1', values: [] });
    const selectMs = performance.now() - start;
    return {
      insertsPerSecond: Math.round(n / (insertMs / 1000)),
      commitMs: Math.round((insertMs / n) * 1000) / 1000,
      roundTripMs: Math.round((selectMs / n) * 1000) / 1000,
    };
  } finally {
    await client.end();
    await dropSchema(serverUrl, schema);
  }
}
