/** Store URLs: what they look like, how they are read, how they are shown without secrets. */
import { resolve } from 'node:path';
import { InvalidStoreUrlError } from '../core/errors.js';

export const DEFAULT_STORE_URL = 'sqlite:./offload.db';

export interface ParsedStoreUrl {
  kind: 'sqlite' | 'postgres';
  /** SQLite: the file path (absolute) or `:memory:`. PostgreSQL: the connection string. */
  location: string;
  options: Record<string, string>;
}

/**
 * `sqlite:./offload.db`, `sqlite:/abs/path.db?synchronous=full`, `sqlite::memory:`,
 * `postgres://user@host:5432/db?schema=offload` (also `postgresql://`).
 */
export function parseStoreUrl(url: string): ParsedStoreUrl {
  if (typeof url !== 'string' || url.trim() === '') throw new InvalidStoreUrlError(String(url), 'it is empty');
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidStoreUrlError(redact(url), 'it is not a valid URL');
    }
    const options = Object.fromEntries(parsed.searchParams);
    return { kind: 'postgres', location: url, options };
  }
  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    const [path, query = ''] = splitOnce(rest, '?');
    if (path === '') throw new InvalidStoreUrlError(url, 'the file path is missing');
    const options = Object.fromEntries(new URLSearchParams(query));
    for (const key of Object.keys(options)) {
      if (!['synchronous', 'busyTimeoutMs', 'pollIntervalMs'].includes(key)) {
        throw new InvalidStoreUrlError(url, `unknown option "${key}" (known: synchronous, busyTimeoutMs, pollIntervalMs)`);
      }
    }
    if (options.synchronous !== undefined && !['normal', 'full'].includes(options.synchronous)) {
      throw new InvalidStoreUrlError(url, 'synchronous must be "normal" or "full"');
    }
    return { kind: 'sqlite', location: path === ':memory:' ? path : resolve(path), options };
  }
  throw new InvalidStoreUrlError(redact(url), 'the scheme must be sqlite: or postgres://');
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** Hides a password in a connection string before it reaches an error message or a log. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
