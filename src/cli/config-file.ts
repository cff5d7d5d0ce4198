/**
 * The config file `offload start --config FILE` reads: JSON with the settings that are too rich
 * for flags. Today: `endpointGroups`, saved in the store at start (as `offload group save` does).
 */
import { readFileSync } from 'node:fs';
import type { EndpointGroupSettings } from '../core/endpoint-group.js';
import { InvalidOptionError } from '../core/errors.js';

export interface ConfigFile {
  endpointGroups: EndpointGroupSettings[];
}

const KEYS = ['endpointGroups'];

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
  return { endpointGroups: groups as EndpointGroupSettings[] };
}
