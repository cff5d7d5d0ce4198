import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { httpReference } from '../helpers/http-reference.js';
import { ROOT } from '../helpers/processes.js';

describe('docs/reference/http.md', () => {
  it('is generated from the OpenAPI document and up to date (npm run docs:http rewrites it)', async () => {
    const expected = await httpReference();
    const actual = readFileSync(join(ROOT, 'docs/reference/http.md'), 'utf8');
    assert.ok(actual === expected, 'docs/reference/http.md is out of date: run `npm run build && npm run docs:http`');
  });
});
