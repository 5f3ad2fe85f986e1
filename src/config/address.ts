// One text per IP address, so two spellings of one address compare equal: IPv4 as written, IPv6 per
// RFC 5952 (the WHATWG URL serialiser: longest zero run compressed, lower case; the same text glibc's
// inet_ntop gives ipvsadm). Used for VIPs in pools/ (one MED per VIP) and by the LVS agent's table.
import { isIPv4, isIPv6 } from 'node:net';

/** The canonical text of an IPv4 or IPv6 address; undefined when `address` is neither. */
export function canonicalIp(address: string): string | undefined {
  if (isIPv4(address)) return address;
  // Zone ids are not valid in IPVS and fail isIPv6 anyway.
  if (isIPv6(address)) return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  return undefined;
}
