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
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  const host = m ? (m[1] ?? m[2]) || '127.0.0.1' : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (m[1] !== undefined && isIP(m[1]) !== 6)) {
    throw new InvalidOptionError(option, `expected HOST:PORT (such as 127.0.0.1:4730 or [::1]:4730), PORT, or off; got "${value}"`);
  }
  return { host, port };
}
