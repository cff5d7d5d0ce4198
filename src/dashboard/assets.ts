/**
 * The dashboard's built files: one JS bundle and one CSS file with content hashes in their names
 * (`npm run build` writes them and `manifest.json` next to this module's compiled file), read
 * into memory once. Hashed names let browsers cache them for a year; the page itself is not cached.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

export interface DashboardAsset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

export interface DashboardAssets {
  /** By file name, e.g. `app-3F2A9C1B.js`. */
  readonly files: ReadonlyMap<string, DashboardAsset>;
  readonly script: string | null;
  readonly stylesheet: string | null;
}

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export function loadAssets(dir = new URL('./assets/', import.meta.url)): DashboardAssets {
  const manifestUrl = new URL('manifest.json', dir);
  if (!existsSync(manifestUrl)) return { files: new Map(), script: null, stylesheet: null };
  const manifest = JSON.parse(readFileSync(manifestUrl, 'utf8')) as { script: string; stylesheet: string };
  const files = new Map<string, DashboardAsset>();
  for (const name of [manifest.script, manifest.stylesheet]) {
    const body = readFileSync(new URL(name, dir));
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return { files, script: manifest.script, stylesheet: manifest.stylesheet };
}

/** The one page every dashboard route answers with; the bundle draws the rest. No inline script or style. */
export function indexHtml(assets: DashboardAssets): string {
  if (!assets.script || !assets.stylesheet) {
    return '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Offload</title></head><body><p>The dashboard was not built: run <code>npm run build</code> and start the server again.</p></body></html>';
  }
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Offload</title>',
    '<link rel="icon" href="data:,">',
    `<link rel="stylesheet" href="/assets/${assets.stylesheet}">`,
    `<script type="module" src="/assets/${assets.script}"></script>`,
    '</head>',
    '<body><div id="app"><noscript>The Offload dashboard needs JavaScript.</noscript></div></body>',
    '</html>',
  ].join('\n');
}
