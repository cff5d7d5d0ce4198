import { readdirSync, readFileSync } from 'node:fs';

/**
 * Reads every `*.sql` file of a directory into a map from file name (without `.sql`) to text.
 * Each file holds one statement, with its parameters described in a header comment.
 * `{{NAME}}` placeholders are replaced by `fragments[NAME]` (shared column lists).
 */
export function loadSqlFiles(dir: URL, fragments: Record<string, string> = {}): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    let text = readFileSync(new URL(file, dir), 'utf8');
    text = text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      const fragment = fragments[name];
      if (fragment === undefined) throw new Error(`${file}: unknown SQL fragment {{${name}}}`);
      return fragment;
    });
    out.set(file.slice(0, -4), text);
  }
  return out;
}

/** Numbered migrations (`001_init.sql`, `002_…`) in order, as [version, text]. */
export function loadMigrations(dir: URL): [number, string][] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort()
    .map((f) => [Number.parseInt(f, 10), readFileSync(new URL(f, dir), 'utf8')] as [number, string]);
}
