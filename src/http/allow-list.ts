/** Client address allow-lists (`--allow 10.0.0.0/8,192.168.1.5,fd00::/8`) and loopback checks. */
import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../core/errors.js';

export interface AllowList {
  allows(address: string): boolean;
}

/** Parses CIDRs and single addresses; throws INVALID_OPTION naming the bad entry. */
export function parseAllowList(entries: string[]): AllowList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const [address, prefixText, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (
      family === 0 ||
      extra !== undefined ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > max ||
      (prefixText !== undefined && !/^\d+$/.test(prefixText))
    ) {
      throw new InvalidOptionError('allow', `${JSON.stringify(entry)} is not an address or CIDR (e.g. 10.0.0.0/8, 192.168.1.5, fd00::/8)`);
    }
    list.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    allows(addr: string) {
      const plain = unmapped(addr);
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** `::ffff:10.1.2.3` (an IPv4 client on a dual-stack socket) is `10.1.2.3`. */
export function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** Whether a listen host is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}
