/**
 * Networks as operators write them: an IP address (10.1.2.3, ::1) or a CIDR block (10.0.0.0/8,
 * fd00::/8). One parser for every list of them: the ports' allow-list (which peers may connect)
 * and the outbound guard's (which addresses Offload may connect to).
 */
import { type BlockList, isIP } from 'node:net';
import { InvalidOptionError } from './errors.js';

/** Adds `network` to `list`; throws InvalidOptionError naming `option` when it is neither an address nor a CIDR block. */
export function addNetwork(list: BlockList, network: string, option: string): void {
  const [address, bits, extra] = String(network).trim().split('/');
  const family = isIP(address ?? '');
  const max = family === 6 ? 128 : 32;
  const prefix = bits === undefined ? max : Number(bits);
  if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
    throw new InvalidOptionError(option, `${JSON.stringify(network)} is not an IP address or a CIDR block (e.g. 10.0.0.0/8, 192.168.1.20, fd00::/8)`);
  }
  list.addSubnet(address!, prefix, family === 6 ? 'ipv6' : 'ipv4');
}
