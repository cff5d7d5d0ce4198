/** Opens the store a URL names: the one place that picks a backend (each loaded only when used). */
import type { Store } from './store.js';
import { parseStoreUrl } from './url.js';

export { DEFAULT_STORE_URL, type ParsedStoreUrl, parseStoreUrl, redact } from './url.js';

export async function openStore(url: string): Promise<Store> {
  const parsed = parseStoreUrl(url);
  if (parsed.kind === 'sqlite') {
    const { SqliteStore } = await import('./sqlite/sqlite-store.js');
    const o = parsed.options;
    return new SqliteStore(parsed.location, {
      synchronous: o.synchronous as 'normal' | 'full' | undefined,
      busyTimeoutMs: o.busyTimeoutMs === undefined ? undefined : Number(o.busyTimeoutMs),
      pollIntervalMs: o.pollIntervalMs === undefined ? undefined : Number(o.pollIntervalMs),
    });
  }
  const { openPostgresStore } = await import('./postgres/open.js');
  return openPostgresStore(parsed);
}
