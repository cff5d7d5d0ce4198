/**
 * The layer map of docs/architecture.md, checked on every import in src/ (static, `export … from`
 * and dynamic): a layer imports only the layers its row lists, and no file imports itself back
 * through any chain of imports.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/processes.js';

const SRC = join(ROOT, 'src');

/**
 * Which layer may import which: the table of docs/architecture.md ("The layer map"), read from the
 * page itself, so the page and the check cannot disagree. A layer is a folder of src/, but for
 * three places the code treats as layers of their own: the two store backends, the one file that
 * picks a backend (store/open.ts), and the root's files (offload.ts the facade, index.ts the public surface).
 */
export function layerMap(markdown: string): Record<string, string[]> {
  const start = markdown.indexOf('<!-- layer map');
  assert.ok(start >= 0, 'docs/architecture.md has its layer map');
  const rows = markdown.slice(start).split('\n').slice(3);
  const map: Record<string, string[]> = {};
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const cells = row.split('|').map((c) => c.trim());
    const layer = cells[1].replace(/`/g, '');
    map[layer] = cells[3] === '—' ? [] : cells[3].split(',').map((c) => c.trim());
  }
  return map;
}

const LAYERS = layerMap(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** The src/ files a file imports, resolved to their .ts paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^(?:import|export)[^'"]*?from '([^']+)'/gm), ...text.matchAll(/\bimport\('([^']+)'\)/g)].map((m) => m[1]);
  return specs.filter((s) => s.startsWith('.')).map((s) => join(dirname(file), s).replace(/\.js$/, '.ts'));
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).replace(/\\/g, '/');
  const parts = rel.split('/');
  if (parts.length === 1) return rel.replace(/\.ts$/, '');
  if (rel === 'store/open.ts') return 'store/open';
  if (parts[0] === 'store' && parts.length > 2) return `store/${parts[1]}`;
  return parts[0];
}

const FILES = sources(SRC);
const GRAPH = new Map(FILES.map((f) => [f, imports(f)]));

/** Every import cycle, each as the chain of files that closes it. */
function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of GRAPH.get(f) ?? []) {
      if (state.get(g) === 'open') found.push([...stack.slice(stack.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of FILES) if (!state.has(f)) visit(f);
  return found;
}

describe('architecture', () => {
  it('every file of src/ belongs to a layer of the map', () => {
    for (const f of FILES) assert.ok(layerOf(f) in LAYERS, `${relative(ROOT, f)} is in layer "${layerOf(f)}", which docs/architecture.md does not list`);
  });

  it('each layer imports only the layers its row of the map lists', () => {
    const wrong: string[] = [];
    for (const [file, targets] of GRAPH) {
      const from = layerOf(file);
      for (const t of targets) {
        const to = layerOf(t);
        if (to !== from && !LAYERS[from]?.includes(to)) wrong.push(`${relative(SRC, file)} (${from}) imports ${relative(SRC, t)} (${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('has no import cycle in src/', () => {
    assert.deepEqual(
      cycles().map((c) => c.map((f) => relative(SRC, f)).join(' → ')),
      [],
    );
  });

  it('finds a cycle and a forbidden import when there is one (the check checks)', () => {
    const a = join(SRC, 'core/a.ts');
    const b = join(SRC, 'core/b.ts');
    const saved = new Map(GRAPH);
    GRAPH.set(a, [b]).set(b, [a]);
    FILES.push(a, b);
    try {
      assert.equal(cycles().length, 1);
    } finally {
      FILES.splice(FILES.length - 2, 2);
      GRAPH.clear();
      for (const [k, v] of saved) GRAPH.set(k, v);
    }
    assert.ok(Object.keys(LAYERS).length >= 15, 'the map lists every layer');
    assert.ok(!LAYERS.core.includes('store') && !LAYERS.store.includes('store/sqlite'), 'core and the store interface know no backend');
  });

  it('only the store knows which backend is in use', () => {
    for (const file of FILES.filter((f) => !relative(SRC, f).startsWith('store/'))) {
      assert.ok(!/kind === ['"](sqlite|postgres)['"]/.test(readFileSync(file, 'utf8')), `${relative(ROOT, file)} branches on a backend name`);
    }
  });
});
