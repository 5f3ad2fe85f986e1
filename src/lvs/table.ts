// The IPVS table as data: what `ipvsadm -S -n` prints and what we want it to be.
// Addresses are kept canonical (IPv6 compressed and lower-case, as inet_ntop prints them) so that
// desired and current tables compare with plain string equality.
import { isIPv4 } from 'node:net';
import type { LvsMethod } from '../model/types.js';
import { canonicalIp } from '../config/address.js';
import { LvsInputError } from './errors.js';

/** `fwm` is a firewall-mark service (`-f MARK`): address holds the mark, port is 0. We never manage those. */
export type IpvsProtocol = 'tcp' | 'udp' | 'sctp' | 'fwm';

export interface VsId {
  protocol: IpvsProtocol;
  address: string;
  port: number;
}

export interface RealServer {
  address: string;
  port: number;
  method: LvsMethod;
  weight: number;
}

export interface VirtualService extends VsId {
  scheduler: string;
  /** Service flags we do not manage (`persistent 300`, `ops`...), kept verbatim so they survive a round trip. */
  flags: string[];
  servers: RealServer[];
}

export interface IpvsTable {
  services: VirtualService[];
}

export const MAX_WEIGHT = 65535;

/** Canonical text of an IP address, or a LvsInputError naming `where`. */
export function canonicalAddress(address: string, where: string): string {
  const c = canonicalIp(address);
  if (c === undefined) throw new LvsInputError(`${where}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`, { where, address });
  return c;
}

export function isV6(address: string): boolean {
  return address.includes(':');
}

/** `10.0.0.1:80` or `[2620::1]:80`, as ipvsadm writes and reads it. */
export function addrPort(address: string, port: number): string {
  return isV6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Stable identity of a virtual service, e.g. `tcp 10.0.0.1:80`. */
export function vsKey(vs: VsId): string {
  return vs.protocol === 'fwm' ? `fwm ${vs.address}` : `${vs.protocol} ${addrPort(vs.address, vs.port)}`;
}

export function serverKey(rs: Pick<RealServer, 'address' | 'port'>): string {
  return addrPort(rs.address, rs.port);
}

function compareAddress(a: string, b: string): number {
  const fa = isV6(a) ? 1 : 0;
  const fb = isV6(b) ? 1 : 0;
  if (fa !== fb) return fa - fb;
  const na = addressNumber(a);
  const nb = addressNumber(b);
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function addressNumber(address: string): bigint {
  if (!isV6(address)) {
    if (!isIPv4(address)) return BigInt(Number.parseInt(address, 10) || 0); // fwmark
    return address.split('.').reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);
  }
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

const PROTOCOL_ORDER: Record<IpvsProtocol, number> = { fwm: 0, tcp: 1, udp: 2, sctp: 3 };

/** ipvsadm's listing order: firewall marks first, then address family, protocol, address, port. */
export function compareVs(a: VsId, b: VsId): number {
  if ((a.protocol === 'fwm') !== (b.protocol === 'fwm')) return a.protocol === 'fwm' ? -1 : 1;
  const fam = (isV6(a.address) ? 1 : 0) - (isV6(b.address) ? 1 : 0);
  if (fam !== 0) return fam;
  const proto = PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol];
  if (proto !== 0) return proto;
  return compareAddress(a.address, b.address) || a.port - b.port;
}

export function compareServers(a: RealServer, b: RealServer): number {
  return compareAddress(a.address, b.address) || a.port - b.port;
}

/** A copy with services and servers in ipvsadm's order, so equal tables are deep-equal. */
export function sortTable(table: IpvsTable): IpvsTable {
  return {
    services: [...table.services]
      .sort(compareVs)
      .map((vs) => ({ ...vs, flags: [...vs.flags], servers: [...vs.servers].sort(compareServers) })),
  };
}

export function findService(table: IpvsTable, id: VsId): VirtualService | undefined {
  const key = vsKey(id);
  return table.services.find((vs) => vsKey(vs) === key);
}
