/**
 * Which peers may connect to a port that listens beyond loopback: the networks the operator
 * lists (`--allow`, `--gearman-allow`: addresses or CIDR blocks such as 10.0.0.0/8, fd00::/8),
 * and this machine, always. One rule for every port: the HTTP API still asks this machine's
 * requests for a token there; the Gearman port, which has no authentication, admits by address.
 */
import { BlockList, isIP } from 'node:net';
import { addNetwork } from '../core/networks.js';

export class AllowList {
  private readonly list = new BlockList();

  /** `option` names the setting in errors (`allow`, `gearman-allow`). */
  constructor(
    readonly networks: readonly string[],
    option = 'allow',
  ) {
    for (const n of networks) addNetwork(this.list, n, option);
  }

  /** Whether a peer (as the socket reports it) may connect: a listed network, or this machine. */
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
  return m ? m[1]! : address;
}

export function isLoopbackAddress(address: string): boolean {
  return /^127\./.test(address) || address === '::1';
}

/** Whether listening on `host` keeps the port to this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  // An address, not a name that starts like one: 127.0.0.1.example is anybody's.
  return h === 'localhost' || (isIP(unmapped(h)) !== 0 && isLoopbackAddress(unmapped(h)));
}
