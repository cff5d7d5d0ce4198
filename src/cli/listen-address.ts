import { isIP } from 'node:net';
import { InvalidOptionError } from '../core/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * `HOST:PORT`, `[IPV6]:PORT` or `PORT` (on 127.0.0.1) for a listening option; `off` is null.
 * Port 0 lets the system pick a free port.
 */
export function parseListenAddress(option: string, value: string): ListenAddress | null {
  if (value === 'off') return null;
  const bad = () => new InvalidOptionError(option, `expected HOST:PORT (such as 127.0.0.1:4730 or [::1]:4730), PORT, or off; got "${value}"`);
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(value);
  if (!m) throw bad();
  const [, v6, name, digits] = m;
  const port = Number(digits);
  if (port > 65535 || (v6 !== undefined && isIP(v6) !== 6)) throw bad();
  return { host: v6 ?? name ?? '127.0.0.1', port };
}
