// fast-check generators of IPVS tables, and the stand-in's JSON form of a table.
import fc from 'fast-check';
import type { IpvsTable, RealServer, VirtualService, VsId } from '../../src/lvs/table.js';

export const VSS: VsId[] = [
  { protocol: 'tcp', address: '10.2.2.18', port: 8080 },
  { protocol: 'tcp', address: '10.2.2.18', port: 443 },
  { protocol: 'udp', address: '2620:0:861:ed1a::1', port: 53 },
];

/** Servers numbered 1..maxN: a small maxN makes current and desired tables overlap often. */
export const serverArb = (vs: VsId, maxN: number) =>
  fc.record({
    n: fc.integer({ min: 1, max: maxN }),
    weight: fc.integer({ min: 0, max: 65535 }).chain((w) => fc.constantFrom(w % 21, w)),
    method: fc.constantFrom<RealServer['method']>('g', 'i', 'm'),
  }).map(({ n, weight, method }): RealServer => ({
    address: vs.address.includes(':') ? `2620::${n.toString(16)}` : `10.64.0.${n}`, port: vs.port, weight, method,
  }));

export const tableArb = (maxN = 6) =>
  fc.tuple(...VSS.map((vs) => fc.record({
    present: fc.boolean(),
    scheduler: fc.constantFrom('wrr', 'rr', 'sh'),
    servers: fc.uniqueArray(serverArb(vs, maxN), { maxLength: 6, selector: (s) => s.address }),
  }))).map((entries): IpvsTable => ({
    services: entries.flatMap((e, i): VirtualService[] => (e.present ? [{ ...VSS[i]!, scheduler: e.scheduler, flags: [], servers: e.servers }] : [])),
  }));

/** The stand-in's table file for `table`. */
export function toFakeState(table: IpvsTable) {
  return { services: table.services.map((s) => ({ protocol: s.protocol, address: s.address, port: s.port, scheduler: s.scheduler, ops: false, servers: s.servers })) };
}
