/**
 * Which addresses an outbound request may connect to. By default none of this machine's own, the
 * local network's, or the provider's internal ones (loopback, private, link-local, unspecified,
 * carrier-grade NAT, multicast, reserved), in IPv4, IPv6 and IPv4-mapped IPv6 forms, nor the IPv6
 * forms that embed an IPv4 address (NAT64, 6to4, Teredo): a URL that a user configures must
 * not become a way into what only Offload itself can reach. `allowAddresses` names the exceptions
 * (an endpoint group that lives on 10.0.0.0/8 says so).
 *
 * The check is on addresses, never on names: guarded-request.ts applies it to the address each
 * connection actually goes to, after DNS.
 */
import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../core/errors.js';
import { addNetwork } from '../core/networks.js';

export interface AddressPolicyOptions {
  /** Refuse the ranges of DENIED_RANGES (default true). */
  denyPrivateAddresses?: boolean;
  /** CIDRs ("10.0.0.0/8", "fd00::/8") or exact addresses ("127.0.0.1") allowed even if they are in a denied range. */
  allowAddresses?: string[];
}

export interface DeniedRange {
  /** What the range is, in words: "loopback", "private"… */
  kind: string;
  cidr: string;
}

/** Refused unless allowed by name. IPv4-mapped IPv6 addresses (::ffff:127.0.0.1, ::ffff:7f00:1) fall in their IPv4 range. */
export const DENIED_RANGES: readonly DeniedRange[] = [
  { kind: 'loopback', cidr: '127.0.0.0/8' },
  { kind: 'loopback', cidr: '::1/128' },
  { kind: 'private', cidr: '10.0.0.0/8' },
  { kind: 'private', cidr: '172.16.0.0/12' },
  { kind: 'private', cidr: '192.168.0.0/16' },
  { kind: 'private (unique local)', cidr: 'fc00::/7' },
  { kind: 'link-local', cidr: '169.254.0.0/16' },
  { kind: 'link-local', cidr: 'fe80::/10' },
  // All of 0.0.0.0/8, not 0.0.0.0 alone: "this network"; Linux connects 0.0.0.0 to this machine.
  { kind: 'unspecified', cidr: '0.0.0.0/8' },
  { kind: 'unspecified', cidr: '::/128' },
  { kind: 'carrier-grade NAT', cidr: '100.64.0.0/10' },
  // Not unicast on the internet: a request there goes to whatever the local network answers with.
  { kind: 'benchmarking', cidr: '198.18.0.0/15' },
  { kind: 'multicast', cidr: '224.0.0.0/4' },
  { kind: 'multicast', cidr: 'ff00::/8' },
  { kind: 'reserved (and broadcast)', cidr: '240.0.0.0/4' },
  // IPv6 forms that carry an IPv4 address a gateway reaches for the caller (10.0.0.1 as
  // 64:ff9b::a00:1, or 2002:a00:1::): refused whole, as the address they hold could be private.
  { kind: 'NAT64 (embeds IPv4)', cidr: '64:ff9b::/96' },
  { kind: 'NAT64, local use (embeds IPv4)', cidr: '64:ff9b:1::/48' },
  { kind: '6to4 (embeds IPv4)', cidr: '2002::/16' },
  { kind: 'Teredo (embeds IPv4)', cidr: '2001::/32' },
];

/** Says which denied range an address falls in, or undefined when it may be connected to. */
export type AddressPolicy = (address: string) => DeniedRange | undefined;

/** Builds the check once for a policy; throws InvalidOptionError on an allowAddresses entry that is not an address or CIDR. */
export function addressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const allowed = new BlockList();
  for (const entry of options.allowAddresses ?? []) addNetwork(allowed, entry, 'allowAddresses');
  const ranges = DENIED_RANGES.map((range) => {
    const list = new BlockList();
    addNetwork(list, range.cidr, 'DENIED_RANGES');
    return { range, list };
  });
  const deny = options.denyPrivateAddresses ?? true;
  return (address) => {
    if (!deny) return undefined;
    // A zone (fe80::1%eth0) is where a link-local address is, not part of it; BlockList would
    // match nothing with it still on, so it must go before the check, not after.
    const bare = address.replace(/%.*$/, '');
    const family = isIP(bare);
    if (family === 0) throw new InvalidOptionError('address', `${JSON.stringify(address)} is not an IP address`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (allowed.check(bare, type)) return undefined;
    return ranges.find((r) => r.list.check(bare, type))?.range;
  };
}
