// Agent source B: poll poold's JSON API (`GET /v1/pools`, then `/v1/pools/:dc/:cluster/:service`
// for pools whose revision moved). For LVS hosts that may talk HTTP to poold but not to etcd.
// The API gives the LVS definition and the server addresses pools/ has; other host names are resolved.
// Any failed poll marks the source unhealthy until the next good one; the table is left alone.
import type { ServiceDef, ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { errorMessage, StoreError } from '../model/errors.js';
import { parsePoolDetail } from './agent-codec.js';
import type { AgentSource, ServiceInputs } from './agent-source.js';

export interface PooldSourceOptions {
  /** Base URL of poold, e.g. http://poold.svc:9090 */
  url: string;
  filter: (path: string) => boolean;
  /** Poll period. Default 1000 ms (PyBal polls its config every second). */
  pollMs?: number;
  /** Per-request deadline. Default 2000 ms. */
  timeoutMs?: number;
  /**
   * Every this many polls, fetch every pool's detail even if its state revision did not move: the
   * summary has no definition revision, so an LVS definition change alone is seen this way. Default 10.
   */
  fullEvery?: number;
}

interface Summary extends ServiceKey {
  revision: number | null;
}

export class PooldSource implements AgentSource {
  readonly kind = 'poold';
  private readonly base: string;
  private readonly entries = new Map<string, ServiceInputs & { revision: number | null }>();
  private ok = false;
  private error: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<boolean> | undefined;
  private polls = 0;
  private onChange: (services: string[]) => void = () => undefined;

  constructor(private readonly opts: PooldSourceOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  async start(onChange: (services: string[]) => void): Promise<void> {
    this.onChange = onChange;
    await this.poll();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.poll().finally(() => this.schedule());
    }, this.opts.pollMs ?? 1000);
  }

  private async get(path: string): Promise<unknown> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 2000) });
    } catch (err) {
      throw new StoreError(`cannot reach poold at ${url}: ${errorMessage(err)}`, { url }, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) throw new StoreError(`poold ${url} answered ${res.status}: ${text.slice(0, 200)}`, { url, status: res.status });
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new StoreError(`poold ${url} did not answer JSON: ${errorMessage(err)}`, { url }, { cause: err });
    }
  }

  /** One round; concurrent callers share it. Resolves to whether it succeeded. */
  private poll(): Promise<boolean> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<boolean> {
    try {
      const list = (await this.get('/v1/pools')) as { pools?: Summary[] };
      if (!Array.isArray(list.pools)) throw new StoreError(`poold ${this.base}/v1/pools: no "pools" array`, {});
      const changed: string[] = [];
      const full = this.polls++ % (this.opts.fullEvery ?? 10) === 0;
      for (const p of list.pools) {
        const path = servicePath(p);
        if (!this.opts.filter(path)) continue;
        const known = this.entries.get(path);
        if (!full && known && known.revision === p.revision && p.revision !== null) continue;
        const where = `${this.base}/v1/pools/${path}`;
        const detail = await this.get(`/v1/pools/${path.split('/').map(encodeURIComponent).join('/')}`);
        let entry: ServiceInputs & { revision: number | null };
        try {
          const { lvs, state, addresses } = parsePoolDetail(detail, where, p);
          entry = { revision: p.revision, state, ...(lvs ? { def: defFromApi(p, lvs, addresses) } : {}) };
        } catch (err) {
          entry = { revision: p.revision, problem: errorMessage(err) };
        }
        if (known && JSON.stringify(known) === JSON.stringify(entry)) continue;
        this.entries.set(path, entry);
        changed.push(path);
      }
      // A pool poold no longer lists keeps its last known inputs: fail static, never empty.
      const reconnected = !this.ok;
      this.ok = true;
      this.error = undefined;
      // After an outage, reconcile even without changes (an empty list means "re-read the table").
      if (changed.length > 0 || reconnected) this.onChange(changed);
      return true;
    } catch (err) {
      this.ok = false;
      this.error = errorMessage(err);
      return false;
    }
  }

  healthy(): boolean {
    return this.ok;
  }

  async probe(): Promise<boolean> {
    return this.poll();
  }

  lastError(): string | undefined {
    return this.error;
  }

  snapshot(): ReadonlyMap<string, ServiceInputs> {
    return this.entries;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
  }
}

/** The API carries the LVS definition and the addresses pools/ gives; hosts without one are resolved by the agent. */
function defFromApi(key: ServiceKey, lvs: ServiceDef['lvs'], addresses: Record<string, string>): ServiceDef {
  const servers = Object.fromEntries(Object.entries(addresses).map(([h, address]) => [h, { weight: 0, address }]));
  return {
    dc: key.dc, cluster: key.cluster, service: key.service, lvs,
    depoolThreshold: 0, checks: [], flapping: { transitions: 0, windowMs: 0 }, monitoring: {}, servers,
  };
}
