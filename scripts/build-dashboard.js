// Bundles the dashboard (src/dashboard/ui/, Preact + TSX) into one JS and one CSS file with
// content-hashed names, and writes manifest.json naming them, where src/dashboard/assets.ts reads.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { build } from 'esbuild';

const outdir = 'dist/src/dashboard/assets';
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: { app: 'src/dashboard/ui/main.tsx' },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir,
  legalComments: 'none',
  logLevel: 'warning',
});
const files = readdirSync(outdir).map((f) => basename(f));
const script = files.find((f) => f.endsWith('.js'));
const stylesheet = files.find((f) => f.endsWith('.css'));
if (!script || !stylesheet) throw new Error(`the dashboard bundle is missing a file: ${files.join(', ')}`);
writeFileSync(`${outdir}/manifest.json`, `${JSON.stringify({ script, stylesheet })}\n`);
