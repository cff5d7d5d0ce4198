/**
 * Headers of the dashboard's page and assets. The API's own policy forbids everything (it serves
 * JSON); the page may load its own script and stylesheet and call this origin, nothing else: no
 * inline script, no other origin, no framing. Every asset is served from here (no CDN).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // The page names the current hashed bundle, so it is revalidated every time.
  'cache-control': 'no-cache',
};

export const ASSET_CACHE = 'public, max-age=31536000, immutable';
