/** PostgreSQL store URLs: Offload's own options are checked and kept away from the driver. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidStoreUrlError } from '../../src/core/errors.js';
import { parseStoreUrl } from '../../src/store/open.js';
import { postgresUrlOptions } from '../../src/store/postgres/open.js';

const options = (url: string) => postgresUrlOptions(parseStoreUrl(url));

describe('PostgreSQL store URLs', () => {
  it('defaults to the offload schema and passes the rest to the driver', () => {
    const o = options('postgres://app:secret@db:5432/jobs?sslmode=require');
    assert.equal(o.schema, 'offload');
    assert.equal(o.poolSize, undefined);
    assert.equal(o.connectionString, 'postgres://app:secret@db:5432/jobs?sslmode=require');
  });

  it("takes schema, poolSize, pollIntervalMs, synchronousCommit and statementTimeoutMs out of the driver's URL", () => {
    const o = options('postgresql://db/jobs?schema=tenant_7&poolSize=4&pollIntervalMs=2000&synchronousCommit=off&statementTimeoutMs=0&application_name=api');
    assert.deepEqual([o.schema, o.poolSize, o.pollIntervalMs, o.synchronousCommit, o.statementTimeoutMs], ['tenant_7', 4, 2000, 'off', 0]);
    assert.equal(o.connectionString, 'postgresql://db/jobs?application_name=api');
  });

  it('refuses bad values with INVALID_STORE_URL, without showing the password', () => {
    for (const bad of [
      'schema=Public',
      'schema=a-b',
      'schema=1abc',
      'poolSize=0',
      'pollIntervalMs=fast',
      'synchronousCommit=maybe',
      'statementTimeoutMs=-1',
      'statementTimeoutMs=1.5',
    ]) {
      assert.throws(
        () => options(`postgres://app:secret@db/jobs?${bad}`),
        (err: Error) => err instanceof InvalidStoreUrlError && !err.message.includes('secret'),
        bad,
      );
    }
  });
});
