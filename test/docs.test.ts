/** The docs stay true: every error code documented, every embedded example identical to a file that a test runs, every link alive. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { errorCodes } from '../src/core/errors.js';
import { ROOT, runCli } from './helpers/processes.js';

function markdownFiles(): string[] {
  const out = [join(ROOT, 'README.md')];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) out.push(path);
    }
  };
  walk(join(ROOT, 'docs'));
  for (const client of ['clients/python', 'clients/java']) {
    if (existsSync(join(ROOT, client, 'README.md'))) out.push(join(ROOT, client, 'README.md'));
  }
  return out;
}

describe('docs', () => {
  it('docs/reference/errors.md has a section for every error code, and no other', () => {
    const doc = readFileSync(join(ROOT, 'docs/reference/errors.md'), 'utf8');
    const documented = [...doc.matchAll(/^### ([A-Z_]+)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(
      documented,
      errorCodes()
        .map((c) => c.code)
        .sort(),
    );
  });

  it('every embedded example is identical to the file a test runs', () => {
    let count = 0;
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/<!-- example: (\S+) -->\n```\w*\n([\s\S]*?)```/g)) {
        const example = readFileSync(join(ROOT, m[1]), 'utf8');
        assert.equal(m[2].trimEnd(), example.trimEnd(), `${file}: the block for ${m[1]} differs from the file`);
        count++;
      }
    }
    assert.ok(count >= 3, `found ${count} embedded examples`);
  });

  it('local links point at files that exist', () => {
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue;
        assert.ok(existsSync(resolve(dirname(file), target)), `${file} links to missing ${target}`);
      }
    }
  });

  it('docs/reference/cli.md documents every command', async () => {
    const help = (await runCli(['--help'])).stdout;
    const commands = [...help.matchAll(/^ {2}(\w+)(?: \[options\])?(?: [<[][^\n]*?)? {2,}/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    assert.ok(commands.length >= 10);
    const doc = readFileSync(join(ROOT, 'docs/reference/cli.md'), 'utf8');
    for (const c of commands) assert.match(doc, new RegExp(`^### \`offload ${c}\\b`, 'm'), `cli.md documents ${c}`);
  });
});
