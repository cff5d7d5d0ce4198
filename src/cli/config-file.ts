/**
 * The config file `offload start --config FILE` reads: JSON with the settings that are too rich
 * for flags: `endpointGroups`, saved in the store at start (as `offload group save` does), and
 * `smtp`, the SMTP server rules send e-mail through (what `--smtp URL` says, with TLS settings
 * a URL cannot carry: a CA to trust, certificate checks). `--smtp` wins over the file.
 */
import { readFileSync } from 'node:fs';
import type { EndpointGroupSettings } from '../core/endpoint-group.js';
import { InvalidOptionError } from '../core/errors.js';
import type { MailerConfig } from '../notify/mailer.js';

export interface ConfigFile {
  endpointGroups: EndpointGroupSettings[];
  smtp?: MailerConfig;
}

const KEYS = ['endpointGroups', 'smtp'];

export function readConfigFile(path: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidOptionError('config', `cannot read ${path} as JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidOptionError('config', `${path} must hold a JSON object`);
  const unknown = Object.keys(parsed).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new InvalidOptionError('config', `${path} has unknown key "${unknown[0]}" (known: ${KEYS.join(', ')})`);
  const groups = (parsed as { endpointGroups?: unknown }).endpointGroups ?? [];
  if (!Array.isArray(groups)) throw new InvalidOptionError('config', `endpointGroups in ${path} must be a list of groups`);
  const smtp = (parsed as { smtp?: unknown }).smtp;
  if (smtp !== undefined && (typeof smtp !== 'object' || smtp === null || Array.isArray(smtp)))
    throw new InvalidOptionError('config', `smtp in ${path} must be an object: { host, port, from, secure?, requireTls?, auth?, tls? }`);
  return { endpointGroups: groups as EndpointGroupSettings[], ...(smtp ? { smtp: smtp as MailerConfig } : {}) };
}
