/**
 * `--smtp smtp://user:pass@host:587?from=ops@example.com`: the SMTP settings of `offload start` in
 * one URL, read into a plain MailerConfig (what `mail` in Offload.open() takes, and what a config
 * file would give). `smtps://` is TLS from the start (port 465 by default); `?requireTls=true`
 * fails unless STARTTLS upgrades the connection; `?timeoutMs=` bounds each step.
 */
import { InvalidOptionError } from '../core/errors.js';
import type { MailerConfig } from '../notify/mailer.js';

const QUERY_FIELDS = new Set(['from', 'requireTls', 'timeoutMs']);

export function parseSmtpUrl(text: string): MailerConfig {
  const fail = (problem: string): never => {
    throw new InvalidOptionError('smtp', `${problem}; give a URL such as smtp://user:pass@smtp.example.com:587?from=ops@example.com`);
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('it is not a URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') fail(`the scheme must be smtp: or smtps:, not ${url.protocol}`);
  const secure = url.protocol === 'smtps:';
  if (url.hostname === '') fail('the host is missing');
  for (const key of url.searchParams.keys()) if (!QUERY_FIELDS.has(key)) fail(`unknown parameter "${key}" (known: ${[...QUERY_FIELDS].join(', ')})`);
  const from = url.searchParams.get('from') ?? fail('the sender is missing: add ?from=ops@example.com');
  const user = decodeURIComponent(url.username);
  const config: MailerConfig = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    from,
    ...(secure ? { secure: true } : {}),
    ...(user === '' ? {} : { auth: { user, pass: decodeURIComponent(url.password) } }),
  };
  const requireTls = url.searchParams.get('requireTls');
  if (requireTls !== null) {
    if (requireTls !== 'true' && requireTls !== 'false') fail('requireTls must be true or false');
    config.requireTls = requireTls === 'true';
  }
  const timeoutMs = url.searchParams.get('timeoutMs');
  if (timeoutMs !== null) config.timeoutMs = Number(timeoutMs);
  return config;
}
