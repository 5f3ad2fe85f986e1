// The etcd key layout (ARCHITECTURE.md §3). Both roots are settings; everything else is fixed:
//   <conftool>/pools/<dc>/<cluster>/<service>/<host>  conftool node (admin state of a host in a pool)
//   <poold>/services/<dc>/<name>                      LVS service definition (a PyBal section)
//   <poold>/services/~pools/<dc>/<cluster>/<service>  the server list of a conftool pool the definitions
//                                                     name, stored once per pool (not in each definition)
//   <poold>/health/<dc>/<name>/<host>/<observer>      leased observation of one host for one LVS service
//   <poold>/state/<dc>/<name>                         leader's effective state of one LVS service: its header
//   <poold>/state/<dc>/<name>/<host>                  ... and one key per server (store/state-layout.ts)
//   <poold>/freeze/<dc>/<name>                        an operator's freeze of health depools (store/freeze.ts)
//   <poold>/audit/<sortable id>                               audit records
//   <poold>/force/<dc>/<cluster>/<service>/<host>             force marker of the host's current admin write
//   <poold>/election/<name>                                   leader election
import { UsageError } from '../model/errors.js';
import type { HostKey, PoolKey, ServiceKey, TargetKey } from '../model/types.js';

export interface KeyRoots {
  conftool: string;
  poold: string;
}

/** The segment below services/ that holds the pools' server lists; no dc can be named so (see poolListsPrefix). */
const POOL_LISTS = '~pools';

export const DEFAULT_ROOTS: KeyRoots = { conftool: '/conftool/v1', poold: '/poold/v1' };

export interface HealthKey extends TargetKey {
  observer: string;
}

function segment(what: string, v: string): string {
  if (v === '' || v.includes('/')) {
    throw new UsageError(`invalid ${what} "${v}" in an etcd key: it must be non-empty and contain no "/"`, { [what]: v });
  }
  return v;
}

function root(what: string, r: string): string {
  if (!/^\/[^]*[^/]$/.test(r)) {
    throw new UsageError(`invalid ${what} key root "${r}": it must start with "/" and not end with "/" (e.g. /conftool/v1)`, { root: r });
  }
  return r;
}

function lvsPath(k: ServiceKey): string {
  return `${segment('dc', k.dc)}/${segment('LVS service name', k.name)}`;
}

/** Splits `key` below `prefix` into exactly `n` non-empty segments, or undefined. */
function tail(key: string, prefix: string, n: number): string[] | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const parts = key.slice(prefix.length).split('/');
  return parts.length === n && parts.every((p) => p !== '') ? parts : undefined;
}

export class Keys {
  readonly roots: KeyRoots;

  constructor(roots: Partial<KeyRoots> = {}) {
    this.roots = {
      conftool: root('conftool', roots.conftool ?? DEFAULT_ROOTS.conftool),
      poold: root('poold', roots.poold ?? DEFAULT_ROOTS.poold),
    };
  }

  // ---- conftool pools ----

  /** `<conftool>/pools/` — every host of every service. */
  poolsPrefix(): string {
    return `${this.roots.conftool}/pools/`;
  }

  /** `<conftool>/pools/<dc>/<cluster>/<service>/` — the hosts of one conftool pool. */
  poolPrefix(k: PoolKey): string {
    return `${this.poolsPrefix()}${segment('dc', k.dc)}/${segment('cluster', k.cluster)}/${segment('service', k.service)}/`;
  }

  host(k: HostKey): string {
    return this.poolPrefix(k) + segment('host', k.host);
  }

  parseHost(key: string): HostKey | undefined {
    const p = tail(key, this.poolsPrefix(), 4);
    return p && { dc: p[0], cluster: p[1], service: p[2], host: p[3] };
  }

  // ---- poold ----

  servicesPrefix(): string {
    return `${this.roots.poold}/services/`;
  }

  service(k: ServiceKey): string {
    return `${this.servicesPrefix()}${lvsPath(k)}`;
  }

  parseService(key: string): ServiceKey | undefined {
    const p = tail(key, this.servicesPrefix(), 2);
    return p && p[0] !== POOL_LISTS ? { dc: p[0], name: p[1] } : undefined;
  }

  /**
   * `<poold>/services/~pools/`: the server lists of the conftool pools that definitions name, one key
   * per pool. At Wikimedia's eqiad 44 sections share kubesvc's 240 servers; stored in each definition
   * they were 86% of the definitions' bytes, which every depool's inventory read and parsed. They live
   * under services/ so that one range or watch sees definitions and the lists they use in commit
   * order, and '~' sorts after every dc name, so definitionsRange() reads the definitions alone.
   */
  poolListsPrefix(): string {
    return `${this.servicesPrefix()}${POOL_LISTS}/`;
  }

  poolList(k: PoolKey): string {
    return `${this.poolListsPrefix()}${segment('dc', k.dc)}/${segment('cluster', k.cluster)}/${segment('service', k.service)}`;
  }

  parsePoolList(key: string): PoolKey | undefined {
    const p = tail(key, this.poolListsPrefix(), 3);
    return p && { dc: p[0], cluster: p[1], service: p[2] };
  }

  /** The definitions without the pools' server lists (poolctl's inventory needs no server list). */
  definitionsRange(): { key: string; end: string } {
    return { key: this.servicesPrefix(), end: this.poolListsPrefix() };
  }

  /** `<poold>/health/` or, given an LVS service (and host), the observations below it. */
  healthPrefix(k?: ServiceKey | TargetKey): string {
    const base = `${this.roots.poold}/health/`;
    if (k === undefined) return base;
    const svc = `${base}${lvsPath(k)}/`;
    return 'host' in k ? `${svc}${segment('host', k.host)}/` : svc;
  }

  health(k: HealthKey): string {
    return this.healthPrefix({ dc: k.dc, name: k.name, host: k.host }) + segment('observer', k.observer);
  }

  parseHealth(key: string): HealthKey | undefined {
    const p = tail(key, this.healthPrefix(), 4);
    return p && { dc: p[0], name: p[1], host: p[2], observer: p[3] };
  }

  statePrefix(): string {
    return `${this.roots.poold}/state/`;
  }

  state(k: ServiceKey): string {
    return `${this.statePrefix()}${lvsPath(k)}`;
  }

  parseState(key: string): ServiceKey | undefined {
    const p = tail(key, this.statePrefix(), 2);
    return p && { dc: p[0], name: p[1] };
  }

  /** One server's published state: below its LVS service's header key (store/state-layout.ts). */
  stateServer(k: ServiceKey, host: string): string {
    return `${this.state(k)}/${segment('host', host)}`;
  }

  parseStateServer(key: string): TargetKey | undefined {
    const p = tail(key, this.statePrefix(), 3);
    return p && { dc: p[0], name: p[1], host: p[2] };
  }

  /**
   * The range [start, end) holding one LVS service's header and server keys, and no other service's
   * header: so one range reads them at one revision. It may also hold another service whose name
   * extends this one with a character sorting before "/" (`a` and `a-b`): readers parse every key.
   */
  stateRange(k: ServiceKey): { key: string; end: string } {
    const key = this.state(k);
    return { key, end: `${key}0` };
  }

  /** Issue 14: freezes of health depools, one per LVS service. */
  freezePrefix(): string {
    return `${this.roots.poold}/freeze/`;
  }

  freeze(k: ServiceKey): string {
    return `${this.freezePrefix()}${lvsPath(k)}`;
  }

  parseFreeze(key: string): ServiceKey | undefined {
    const p = tail(key, this.freezePrefix(), 2);
    return p && { dc: p[0], name: p[1] };
  }

  auditPrefix(): string {
    return `${this.roots.poold}/audit/`;
  }

  audit(id: string): string {
    return this.auditPrefix() + segment('audit id', id);
  }

  parseAudit(key: string): string | undefined {
    return tail(key, this.auditPrefix(), 1)?.[0];
  }

  /** `<poold>/force/`: force markers of admin writes (force-marker.ts), one per conftool host key. */
  forcePrefix(): string {
    return `${this.roots.poold}/force/`;
  }

  force(k: HostKey): string {
    return `${this.forcePrefix()}${segment('dc', k.dc)}/${segment('cluster', k.cluster)}/${segment('service', k.service)}/${segment('host', k.host)}`;
  }

  parseForce(key: string): HostKey | undefined {
    const p = tail(key, this.forcePrefix(), 4);
    return p && { dc: p[0], cluster: p[1], service: p[2], host: p[3] };
  }

  /** The election prefix; candidates' keys live below it. */
  election(name = 'leader'): string {
    return `${this.roots.poold}/election/${segment('election name', name)}`;
  }
}
