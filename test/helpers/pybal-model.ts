// A test model of PyBal 1.15's pooling semantics (branch 1.15-stretch: pybal/coordinator.py,
// pybal/server.py, pybal/monitor.py, pybal/ipvs.py LVSService, pybal/config.py's HTTP observer),
// written from reading that code, to compose PyBal with poold in tests. It models what decides
// which servers PyBal pools; not BGP, metrics, DNS details or Twisted's scheduling (the test
// decides when DNS answers and when monitors report).
//
// The rules it keeps, as PyBal has them:
// - Server.calcStatus() = AND of its monitors' `up`, starting from `len(monitors) != 0`: no
//   monitor means down; a monitor that has not reported yet (`up` None) means not up.
// - A new server is built from its config (merge, then modified = False), resolved, then
//   `_ready`: ready, up = pooled = True, then maintainState() (not enabled -> not pooled), then
//   its monitors start. A server that fails to resolve stays not ready, never pooled.
// - merge(): only `enabled` (bool) and `weight` (int) are taken; maintainState(); modified = True.
// - onConfigUpdate(): merge existing servers, build new ones, destroy and drop removed ones, then
//   refreshModifiedServers() (for every server ever merged: up = calcStatus(), pooled = enabled
//   and up; no threshold), then, once every new server has resolved, assignServers() hands LVS
//   exactly the pooled servers.
// - A monitor's first result always reaches the coordinator; later ones only on a change.
//   resultDown: up = False and depool() if pooled; resultUp: if not up and calcStatus(): up =
//   True and repool() if enabled and ready.
// - depool(): if canDepool() LVS removes it (pooled = False), else it stays pooled and joins
//   pooledDownServers. repool(): LVS adds it if not pooled, then depools pooled-down servers
//   while canDepool(). canDepool(): #(up and enabled) >= #servers * depool-threshold.
// - The HTTP observer hands the list over only when it differs from the last one.
// Python truthiness is kept: up and pooled may be None, which counts as false.

export type Py3 = boolean | null;

/** What a monitor reports when the test runs the checks. */
export type MonitorKind =
  /** RunCommand running a command that always exits 0 (the driven rendering's /bin/true). */
  | { kind: 'always-up' }
  /** A real health check (ProxyFetch, IdleConnection, ...): reports the backend's health. */
  | { kind: 'probe' };

export interface SectionModel {
  monitors: MonitorKind[];
  depoolThreshold: number;
}

export class Monitor {
  up: Py3 = null;
  firstCheck = true;
  active = false;
  constructor(
    readonly spec: MonitorKind,
    readonly server: Server,
    readonly coordinator: Coordinator,
  ) {}

  run(): void {
    this.active = true;
  }

  stop(): void {
    this.active = false;
  }

  /** MonitoringProtocol._resultUp: the first result always goes through, later only a change. */
  resultUp(): void {
    if ((this.active && this.up === false) || this.firstCheck) {
      this.up = true;
      this.firstCheck = false;
      this.coordinator.resultUp(this);
    }
  }

  resultDown(reason = 'down'): void {
    if ((this.active && this.up === true) || this.firstCheck) {
      this.up = false;
      this.firstCheck = false;
      this.coordinator.resultDown(this, reason);
    }
  }
}

export interface ServerConfig {
  enabled?: unknown;
  weight?: unknown;
}

export class Server {
  weight = 10;
  up: Py3 = false;
  pooled: Py3 = false;
  enabled = true;
  ready = false;
  /** None until built, False once built, True once merged by a later list. */
  modified: Py3 = null;
  monitors: Monitor[] = [];

  constructor(readonly host: string) {}

  calcStatus(): Py3 {
    let b: Py3 = this.monitors.length !== 0;
    for (const m of this.monitors) b = b && m.up;
    return b;
  }

  calcPartialStatus(): Py3 {
    let b: Py3 = this.monitors.length === 0;
    for (const m of this.monitors) b = b || m.up;
    return b;
  }

  maintainState(): void {
    if (!this.enabled || !this.ready) this.pooled = false;
    if (!this.pooled && this.enabled) this.up = false;
  }

  merge(config: ServerConfig): void {
    // Server.allowedConfigKeys with exact types: a bool is not an int, an int is not a bool.
    if (typeof config.enabled === 'boolean') this.enabled = config.enabled;
    if (typeof config.weight === 'number' && Number.isInteger(config.weight)) this.weight = config.weight;
    this.maintainState();
    this.modified = true;
  }

  destroy(): void {
    this.enabled = false;
    for (const m of this.monitors) m.stop();
    this.monitors = [];
  }

  textStatus(): string {
    const health = this.up ? 'up' : this.calcPartialStatus() ? 'partially up' : 'down';
    return `${this.enabled ? 'enabled' : 'disabled'}/${health}/${this.pooled ? 'pooled' : 'not pooled'}`;
  }
}

/** An exception PyBal would raise inside a Twisted callback (logged, the rest of the call skipped). */
export class PybalCallbackError extends Error {}

/** ipvs.LVSService: the real servers in the kernel's table. */
export class Lvs {
  servers = new Set<Server>();

  assignServers(next: Set<Server>): void {
    this.servers = new Set(next);
  }

  addServer(s: Server): void {
    this.servers.add(s);
    s.pooled = true;
  }

  removeServer(s: Server): void {
    if (!this.servers.has(s)) throw new PybalCallbackError(`KeyError: ${s.host} (removeServer of a server LVS does not have)`);
    this.servers.delete(s);
    s.pooled = false;
  }
}

export class Coordinator {
  /** Insertion-ordered like the dict it models; order only matters for logs and tie-breaks here. */
  readonly servers = new Map<string, Server>();
  /** A Python set: pop() takes an arbitrary element; here the oldest. */
  pooledDownServers: Server[] = [];
  readonly lvs = new Lvs();
  /** New servers waiting for DNS (Server.initialize's Deferred). */
  private pendingInit: Server[] = [];
  /** Exceptions PyBal would log from callbacks. */
  readonly callbackErrors: string[] = [];

  constructor(readonly section: SectionModel) {}

  canDepool(): boolean {
    let upEnabled = 0;
    for (const s of this.servers.values()) if (s.up && s.enabled) upEnabled++;
    return upEnabled >= this.servers.size * this.section.depoolThreshold;
  }

  depool(s: Server): void {
    if (!s.pooled) throw new Error(`model bug: depool of a server that is not pooled (${s.host})`);
    if (this.canDepool()) {
      this.lvs.removeServer(s);
      this.pooledDownServers = this.pooledDownServers.filter((x) => x !== s);
    } else if (!this.pooledDownServers.includes(s)) {
      this.pooledDownServers.push(s);
    }
  }

  repool(s: Server): void {
    if (!(s.enabled && s.ready)) throw new Error(`model bug: repool of ${s.host}, which is not enabled and ready`);
    if (!s.pooled) this.lvs.addServer(s);
    this.pooledDownServers = this.pooledDownServers.filter((x) => x !== s);
    while (this.pooledDownServers.length > 0 && this.canDepool()) this.depool(this.pooledDownServers.shift()!);
  }

  resultDown(m: Monitor, _reason: string): void {
    const s = m.server;
    if (s.up) {
      s.up = false;
      if (s.pooled) this.depool(s);
    }
  }

  resultUp(m: Monitor): void {
    const s = m.server;
    if (!s.up && s.calcStatus()) {
      s.up = true;
      if (s.enabled && s.ready) this.repool(s);
    }
  }

  refreshModifiedServers(): void {
    for (const s of this.servers.values()) {
      if (!s.modified) continue;
      s.up = s.calcStatus();
      s.pooled = s.enabled && s.up;
    }
  }

  assignServers(): void {
    this.lvs.assignServers(new Set([...this.servers.values()].filter((s) => s.pooled)));
  }

  /** Coordinator.onConfigUpdate, with a list parsed from the server list (host -> config). */
  onConfigUpdate(config: ReadonlyMap<string, ServerConfig>): void {
    const removed = new Map(this.servers);
    const initList: Server[] = [];
    for (const [host, cfg] of config) {
      const existing = this.servers.get(host);
      if (existing) {
        removed.delete(host);
        existing.merge(cfg);
      } else {
        const s = new Server(host);
        s.merge(cfg);
        s.modified = false;
        this.servers.set(host, s);
        initList.push(s);
      }
    }
    for (const [host, s] of removed) {
      s.destroy();
      this.servers.delete(host);
    }
    this.refreshModifiedServers();
    this.pendingInit.push(...initList);
    // DeferredList([]) fires at once: with no new server, LVS is updated now.
    if (this.pendingInit.length === 0) this.assignServers();
  }

  /** DNS answered for every new server (or failed for `failing`): _ready / _initFailed, then _serverInitDone. */
  resolvePending(failing: ReadonlySet<string> = new Set()): void {
    const done = this.pendingInit;
    this.pendingInit = [];
    for (const s of done) {
      if (!this.servers.has(s.host) || this.servers.get(s.host) !== s) continue;
      if (failing.has(s.host)) {
        s.maintainState();
        continue;
      }
      s.ready = true;
      s.up = true;
      s.pooled = true;
      s.maintainState();
      s.monitors = this.section.monitors.map((spec) => new Monitor(spec, s, this));
      for (const m of s.monitors) m.run();
    }
    if (done.length > 0) this.assignServers();
  }

  /** Every active monitor reports once: always-up ones up, probes the backend's health. */
  runChecks(healthy: (host: string) => boolean): void {
    for (const s of [...this.servers.values()]) {
      for (const m of [...s.monitors]) {
        if (!m.active) continue;
        try {
          if (m.spec.kind === 'always-up' || healthy(s.host)) m.resultUp();
          else m.resultDown();
        } catch (err) {
          if (!(err instanceof PybalCallbackError)) throw err;
          this.callbackErrors.push(err.message);
        }
      }
    }
  }

  /** The hosts in the LVS table, sorted. */
  lvsHosts(): string[] {
    return [...this.lvs.servers].map((s) => s.host).sort();
  }

  /** The hosts PyBal's /pools shows as pooled, sorted. */
  pooledHosts(): string[] {
    return [...this.servers.values()].filter((s) => s.pooled).map((s) => s.host).sort();
  }

  /** /alerts: the hosts named "marked down but pooled". */
  alertHosts(): string[] {
    return this.pooledDownServers.map((s) => s.host).sort();
  }
}

/** config.HttpConfigurationObserver: fetches the list; hands it over only when it changed. */
export class HttpObserver {
  private last: string | undefined;
  constructor(readonly coordinator: Coordinator) {}

  /** `entries` as the legacy list parser yields them, in line order. */
  received(entries: ReadonlyArray<readonly [string, ServerConfig]>): boolean {
    const key = JSON.stringify(entries.map(([h, c]) => [h, c.enabled, c.weight]).sort());
    if (key === this.last) return false;
    this.last = key;
    this.coordinator.onConfigUpdate(new Map(entries));
    return true;
  }
}
