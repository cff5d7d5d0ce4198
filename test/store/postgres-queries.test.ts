/**
 * PostgreSQL resolves a bare name in ORDER BY to an output column first (GROUP BY prefers the
 * input column). The shared column lists cast ids to text (`id::text AS id`), so `ORDER BY id`
 * would sort "999" after "1000" while cursors compare numbers: such a term must name the table's
 * column (`jobs.id`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POSTGRES_QUERIES } from '../../src/store/postgres/postgres-store.js';

/** Output names the select list gives to a cast (`x::text AS name`, `x::text AS "name"`). */
function castAliases(sql: string): Set<string> {
  return new Set([...sql.matchAll(/::\w+(?:\[\])?\s+AS\s+"?(\w+)"?/gi)].map((m) => m[1]));
}

/** The bare names ORDER BY clauses sort by. */
function sortedNames(sql: string): string[] {
  const clauses = [...sql.matchAll(/\bORDER\s+BY\s+([^;]*?)(?=\bLIMIT\b|\bFOR\b|\bOFFSET\b|\)|$)/gis)].map((m) => m[1]);
  return clauses.flatMap((c) =>
    c
      .split(',')
      .map((term) => term.trim().split(/\s+/)[0])
      .filter((name) => /^"?\w+"?$/.test(name))
      .map((n) => n.replace(/"/g, '')),
  );
}

describe('PostgreSQL statements', () => {
  it('sort by table columns, never by a name the select list casts', () => {
    assert.ok(POSTGRES_QUERIES.size > 20);
    for (const [name, sql] of POSTGRES_QUERIES) {
      const aliases = castAliases(sql);
      for (const term of sortedNames(sql))
        assert.ok(!aliases.has(term), `${name}.sql sorts by "${term}", which its select list casts; write the table's column (e.g. jobs.${term})`);
    }
  });

  it('catches the pattern it looks for', () => {
    const bad = 'SELECT id::text AS id FROM jobs ORDER BY id DESC LIMIT 5';
    assert.deepEqual(
      sortedNames(bad).filter((t) => castAliases(bad).has(t)),
      ['id'],
    );
    const good = 'SELECT id::text AS id FROM jobs ORDER BY jobs.id DESC LIMIT 5';
    assert.deepEqual(
      sortedNames(good).filter((t) => castAliases(good).has(t)),
      [],
    );
  });
});
