import pg from 'pg';

export async function dropSchema(serverUrl: string, schema: string): Promise<void> {
  const url = new URL(serverUrl);
  url.search = '';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** For systems that say nothing when a job's completion is written: look every 10 ms. */
export async function pollUntil(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}
