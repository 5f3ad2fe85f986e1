// Minimal ipvsadm commands taking the current table to the desired one, for the virtual services we
// manage. Unlike PyBal, which re-sends `-e` for every server on each config change and recreates the
// service on restart (`-D` then `-A`, a window with no real servers), we touch only what differs:
//   - a missing service is added (`-A`), a scheduler change is an edit (`-E`), never `-D`/`-A`;
//   - servers are added first, then edited, then deleted, so a pool never transits through empty;
//   - servers whose weight and method already match get no command at all;
//   - services not in `desired` are left alone, unless listed in `remove` (services we created and
//     no longer want), and services are never flushed (`-C`).
import type { IpvsCommand } from './render.js';
import { findService, serverKey, sortTable, vsKey, type IpvsTable, type RealServer, type VirtualService, type VsId } from './table.js';

function vsId(vs: VsId): VsId {
  return { protocol: vs.protocol, address: vs.address, port: vs.port };
}

function diffService(current: VirtualService | undefined, desired: VirtualService): IpvsCommand[] {
  const vs = vsId(desired);
  const cmds: IpvsCommand[] = [];
  if (!current) {
    cmds.push({ op: 'add-service', vs, scheduler: desired.scheduler });
  } else if (current.scheduler !== desired.scheduler) {
    cmds.push({ op: 'edit-service', vs, scheduler: desired.scheduler });
  }
  const have = new Map<string, RealServer>((current?.servers ?? []).map((s) => [serverKey(s), s]));
  const want = new Map<string, RealServer>(desired.servers.map((s) => [serverKey(s), s]));
  const adds: IpvsCommand[] = [];
  const edits: IpvsCommand[] = [];
  const deletes: IpvsCommand[] = [];
  for (const [key, server] of want) {
    const cur = have.get(key);
    if (!cur) adds.push({ op: 'add-server', vs, server });
    else if (cur.weight !== server.weight || cur.method !== server.method) edits.push({ op: 'edit-server', vs, server });
  }
  for (const [key, server] of have) {
    if (!want.has(key)) deletes.push({ op: 'delete-server', vs, server: { address: server.address, port: server.port } });
  }
  return [...cmds, ...adds, ...edits, ...deletes];
}

export function diffTables(current: IpvsTable, desired: readonly VirtualService[], remove: readonly VsId[] = []): IpvsCommand[] {
  const cmds: IpvsCommand[] = [];
  const wanted = new Set<string>();
  for (const d of sortTable({ services: [...desired] }).services) {
    wanted.add(vsKey(d));
    cmds.push(...diffService(findService(current, d), d));
  }
  const removed = new Set<string>();
  for (const r of remove) {
    const key = vsKey(r);
    if (wanted.has(key) || removed.has(key) || !findService(current, r)) continue;
    removed.add(key);
    cmds.push({ op: 'delete-service', vs: vsId(r) });
  }
  return cmds;
}

/** Human-readable differences between the managed part of a table and what we wanted; empty when equal. */
export function tableDifferences(current: IpvsTable, desired: readonly VirtualService[], removed: readonly VsId[] = []): string[] {
  const out: string[] = [];
  for (const d of desired) {
    const c = findService(current, d);
    const name = vsKey(d);
    if (!c) {
      out.push(`${name}: virtual service missing`);
      continue;
    }
    if (c.scheduler !== d.scheduler) out.push(`${name}: scheduler ${c.scheduler}, wanted ${d.scheduler}`);
    const have = new Map(c.servers.map((s) => [serverKey(s), s]));
    const want = new Map(d.servers.map((s) => [serverKey(s), s]));
    for (const [key, s] of want) {
      const h = have.get(key);
      if (!h) out.push(`${name}: real server ${key} missing`);
      else if (h.weight !== s.weight || h.method !== s.method) {
        out.push(`${name}: real server ${key} has -${h.method} -w ${h.weight}, wanted -${s.method} -w ${s.weight}`);
      }
    }
    for (const key of have.keys()) if (!want.has(key)) out.push(`${name}: unexpected real server ${key}`);
  }
  for (const r of removed) if (findService(current, r)) out.push(`${vsKey(r)}: virtual service should have been deleted`);
  return out;
}
