/** Calls to the HTTP API (the dashboard uses nothing else), with the session's CSRF header. */

export interface Session {
  name: string | null;
  scope: 'submit' | 'work' | 'read' | 'admin';
  tasks: string[];
  /** session: logged in with a token; local: the anonymous local user of a loopback server. */
  via: 'session' | 'local' | 'token';
  csrf: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** The server has no such route: an older or a narrower server. */
  get unavailable(): boolean {
    return this.code === 'ROUTE_NOT_FOUND';
  }
}

let csrf: string | null = null;
let onUnauthorized: () => void = () => {};

export function setCsrf(value: string | null): void {
  csrf = value;
}

export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrf && method !== 'GET') headers['offload-csrf'] = csrf;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, 'BAD_RESPONSE', `the server answered ${response.status} with something that is not JSON`);
  }
  if (!response.ok) {
    const e = json?.error ?? {};
    if (response.status === 401 && !path.startsWith('/dashboard/session')) onUnauthorized();
    throw new ApiError(response.status, e.code ?? 'HTTP_ERROR', e.message ?? `HTTP ${response.status}`);
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const del = <T>(path: string) => api<T>('DELETE', path);

/** A query string of the values that are set. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
