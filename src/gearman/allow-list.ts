/**
 * Which peers may talk to the Gearman port. Gearman has no authentication (a token cannot travel
 * in the protocol), so on any address other than loopback the port takes connections only from
 * the networks the operator lists.
 */
import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../core/errors.js';

export class AllowList {
  private readonly list = new BlockList();

  /** `networks`: addresses or CIDR blocks, e.g. `10.0.0.0/8`, `192.168.1.20`, `fd00::/8`. */
  constructor(readonly networks: readonly string[]) {
    for (const n of networks) this.add(n);
  }

  private add(network: string): void {
    const [address, bits, extra] = network.trim().split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new InvalidOptionError('gearman-allow', `"${network}" is not an IP address or a CIDR block such as 10.0.0.0/8 or fd00::/8`);
    }
    this.list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Loopback peers are always allowed: they are this machine, as when listening on 127.0.0.1. */
  allows(peer: string | undefined): boolean {
    if (!peer) return false;
    const address = unmapped(peer);
    if (isLoopbackAddress(address)) return true;
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** `::ffff:10.1.2.3` (an IPv4 peer on a dual-stack socket) as `10.1.2.3`. */
export function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

export function isLoopbackAddress(address: string): boolean {
  return /^127\./.test(address) || address === '::1';
}

/** Whether listening on `host` keeps the port to this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(unmapped(host));
}
