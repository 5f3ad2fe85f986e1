// Agent source A: list-then-watch `/poold/v1/state/` and `/poold/v1/services/` in etcd, through the
// store's listThenWatch (resumes after reconnects without missing events). While the connection is
// down the source reports unhealthy and the agent leaves the table alone.
import { errorMessage } from '../model/errors.js';
import { servicePath } from '../model/types.js';
import { openKv, type EtcdOptions } from '../store/connection.js';
import { Keys, type KeyRoots } from '../store/keys.js';
import type { Etcd3Kv } from '../store/kv-etcd3.js';
import type { KvEntry } from '../store/kv.js';
import { listThenWatch, type ListWatch, type WatchEvent } from '../store/watch.js';
import { AssembledStateDecoder } from '../store/decode.js';
import { DefinitionSet } from '../store/definition-set.js';
import { StateAssembler } from '../store/state-layout.js';
import type { AgentSource, ServiceInputs } from './agent-source.js';

export interface EtcdSourceOptions {
  etcd: EtcdOptions;
  roots?: Partial<KeyRoots>;
  /** Only these services are kept (and trigger reconciles). */
  filter: (path: string) => boolean;
  /** Retry delay after a failed initial listing. Default 500 ms. */
  retryMs?: number;
  /** Deadline of probe(). Default 1000 ms. */
  probeTimeoutMs?: number;
}

export class EtcdSource implements AgentSource {
  readonly kind = 'etcd';
  private readonly keys: Keys;
  private kv: Etcd3Kv | undefined;
  /** Definitions and the pools' server lists, as stored under services/ (store/definition-set.ts). */
  private readonly stored: DefinitionSet;
  private readonly defs = new Map<string, { def?: ServiceInputs['def']; problem?: string }>();
  private readonly states = new Map<string, { state?: ServiceInputs['state']; problem?: string }>();
  /** The state keys (header and servers, store/state-layout.ts), put back together per service. */
  private readonly assembler: StateAssembler;
  /** A change decodes only the servers that changed. */
  private readonly decoder = new AssembledStateDecoder();
  private watches: ListWatch[] = [];
  private connected = { state: false, services: false };
  private listed = { state: false, services: false };
  private error: string | undefined;
  private stopped = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private onChange: (services: string[]) => void = () => undefined;

  constructor(private readonly opts: EtcdSourceOptions) {
    this.keys = new Keys(opts.roots);
    this.assembler = new StateAssembler(this.keys, (k) => opts.filter(servicePath(k)));
    this.stored = new DefinitionSet(this.keys, (k) => opts.filter(servicePath(k)));
  }

  async start(onChange: (services: string[]) => void): Promise<void> {
    this.onChange = onChange;
    this.kv = (await openKv(this.opts.etcd, 'etcd3')) as Etcd3Kv;
    // Wait for the first listing (or its failure, which schedules retries) so the agent's first
    // reconcile already sees the store; an unreachable etcd just leaves the source unhealthy.
    await Promise.all([this.begin('services'), this.begin('state')]);
  }

  private prefix(which: 'state' | 'services'): string {
    return which === 'state' ? this.keys.statePrefix() : this.keys.servicesPrefix();
  }

  private async begin(which: 'state' | 'services'): Promise<void> {
    if (this.stopped || !this.kv) return;
    try {
      const w = await listThenWatch(this.kv, this.prefix(which), {
        onList: (entries) => this.onList(which, entries),
        onEvents: (events) => this.onEvents(which, events),
        onError: (err) => {
          // Permission refused or similar: the watch has stopped. Unhealthy, and try again later.
          this.error = err.message;
          this.connected[which] = false;
          this.retry(which);
        },
        onConnection: (state, err) => {
          const wasUp = this.connected[which];
          this.connected[which] = state === 'connected';
          if (err !== undefined) this.error = errorMessage(err);
          // Back after an outage: an empty change list asks the agent to re-read the table.
          if (state === 'connected' && !wasUp && this.healthy()) this.onChange([]);
        },
      });
      if (this.stopped) await w.stop();
      else this.watches.push(w);
    } catch (err) {
      this.error = errorMessage(err);
      this.retry(which);
    }
  }

  private retry(which: 'state' | 'services'): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      void this.begin(which);
    }, this.opts.retryMs ?? 500);
    this.retryTimers.add(timer);
  }

  /**
   * Applies a batch of changes under services/ (definitions and pools' server lists) and decodes the
   * definitions they touched, after the whole batch: a listing brings definitions before the lists
   * they use (key order). Returns the paths of the definitions changed or removed.
   */
  private applyServices(changes: ReadonlyArray<{ key: string; value: string | undefined }>): string[] {
    for (const { key, value } of changes) this.stored.change(key, value);
    const paths: string[] = [];
    for (const { sk, removed } of this.stored.take()) {
      const path = servicePath(sk);
      paths.push(path);
      if (removed) {
        this.defs.delete(path);
        continue;
      }
      try {
        this.defs.set(path, { def: this.stored.decode(sk) });
      } catch (err) {
        this.defs.set(path, { problem: errorMessage(err) });
      }
    }
    return paths;
  }

  /** The services whose state the assembler completed or removed, decoded. */
  private takeStates(): string[] {
    const changed: string[] = [];
    for (const c of this.assembler.take()) {
      if (c.kind === 'removed') {
        this.states.delete(c.path);
        this.decoder.forget(c.path);
      } else {
        try {
          this.states.set(c.state.path, { state: this.decoder.decode(c.state) });
        } catch (err) {
          this.states.set(c.state.path, { problem: errorMessage(err) });
        }
      }
      changed.push(c.kind === 'removed' ? c.path : c.state.path);
    }
    return changed;
  }

  private onList(which: 'state' | 'services', entries: KvEntry[]): void {
    let changed: string[];
    if (which === 'state') {
      this.assembler.reset();
      for (const e of entries) this.assembler.put(e.key, e.value, e.modRevision);
      // reset() has every service known so far reported removed unless the listing brings it back.
      changed = this.takeStates();
    } else {
      // A listing replaces everything: definitions not listed again are reported changed (gone).
      const before = [...this.defs.keys()];
      this.defs.clear();
      this.stored.clear();
      changed = [...new Set([...before, ...this.applyServices(entries)])];
    }
    this.listed[which] = true;
    this.connected[which] = true;
    this.error = undefined;
    this.onChange(changed);
  }

  private onEvents(which: 'state' | 'services', events: WatchEvent[]): void {
    const changed = new Set<string>();
    if (which === 'state') {
      for (const e of events) {
        if (e.type === 'delete') this.assembler.remove(e.key, e.modRevision);
        else this.assembler.put(e.key, e.value, e.modRevision);
      }
      for (const p of this.takeStates()) changed.add(p);
    } else {
      for (const p of this.applyServices(events.map((e) => ({ key: e.key, value: e.type === 'delete' ? undefined : e.value })))) changed.add(p);
    }
    if (changed.size > 0) this.onChange([...changed]);
  }

  healthy(): boolean {
    return this.listed.state && this.listed.services && this.connected.state && this.connected.services;
  }

  async probe(): Promise<boolean> {
    if (!this.kv || !this.healthy()) return false;
    const kv = this.kv;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.opts.probeTimeoutMs ?? 1000);
    });
    const read = kv.range({ key: this.keys.statePrefix(), prefix: true, limit: 1 }).then(
      () => true,
      (err: unknown) => {
        this.error = errorMessage(err);
        return false;
      },
    );
    try {
      return await Promise.race([read, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  lastError(): string | undefined {
    return this.error;
  }

  snapshot(): ReadonlyMap<string, ServiceInputs> {
    const out = new Map<string, ServiceInputs>();
    for (const path of new Set([...this.defs.keys(), ...this.states.keys()])) {
      const d = this.defs.get(path);
      const s = this.states.get(path);
      const problem = [d?.problem, s?.problem].filter((p) => p !== undefined).join('; ');
      out.set(path, { def: d?.def, state: s?.state, ...(problem ? { problem } : {}) });
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers) clearTimeout(t);
    await Promise.all(this.watches.map((w) => w.stop()));
    this.watches = [];
    await this.kv?.close();
  }
}
