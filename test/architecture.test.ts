/** Imports point one way: front doors → core → store interface ← backends. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/processes.js';

const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1]);
}

describe('architecture', () => {
  it('core imports no backend and no front door', () => {
    const forbidden = /\/(store\/sqlite|store\/postgres|http|gearman|cli|dashboard|server|worker|client)\//;
    for (const file of sources(join(SRC, 'core'))) {
      for (const spec of imports(file)) {
        const target = `${join(file, '..', spec).replace(/\\/g, '/')}/`;
        assert.ok(!forbidden.test(`/${relative(SRC, target)}`), `${relative(ROOT, file)} imports ${spec}`);
      }
    }
  });

  it('only the store knows which backend is in use', () => {
    for (const file of sources(SRC).filter((f) => !relative(SRC, f).startsWith('store/'))) {
      for (const spec of imports(file)) {
        assert.ok(!/store\/(sqlite|postgres)\//.test(spec), `${relative(ROOT, file)} imports a backend (${spec})`);
      }
      assert.ok(!/kind === ['"](sqlite|postgres)['"]/.test(readFileSync(file, 'utf8')), `${relative(ROOT, file)} branches on a backend name`);
    }
  });
});
