// Runs the v2 bridge (store/bridge-v2.ts) in exactly one poold of the etcd cluster, chosen by its
// own election (`<poold>/election/bridge-v2`) among every poold started with --conftool-v2. Not the
// pool leader's election: that one is per --dc scope, while conftool's prefix spans every dc and
// needs exactly one bridge. A second bridge would still be safe (every write is compare-and-swap,
// the base is guarded), only wasteful; the election makes the normal case one.
// If v2 is not served (etcd without --enable-v2, or 3.6+), the bridge logs why and retries.
import { ConftoolV2Bridge } from '../store/bridge-v2.js';
import { Election } from '../store/election.js';
import type { Keys } from '../store/keys.js';
import type { Etcd3Kv } from '../store/kv-etcd3.js';
import type { EtcdOptions } from '../store/options.js';
import { V2Client } from '../store/v2-client.js';
import type { Logger } from './logger.js';

export interface BridgeRunnerOptions {
  kv: Etcd3Kv;
  etcd: EtcdOptions;
  keys: Keys;
  candidate: string;
  ttlSeconds: number;
  log: Logger;
  /** Passed to the bridge (default 60 s). */
  resyncMs?: number;
}

export class BridgeV2Runner {
  private election: Election | undefined;
  private current: { bridge: ConftoolV2Bridge; v2: V2Client } | undefined;
  private transitions: Promise<void> = Promise.resolve();
  private leading = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly o: BridgeRunnerOptions) {
    this.log = o.log.child({ component: 'v2-bridge' });
  }

  /** The running bridge, while this instance holds the bridge election. */
  get bridge(): ConftoolV2Bridge | undefined {
    return this.current?.bridge;
  }

  start(): void {
    this.election = new Election(this.o.kv, { key: this.o.keys.election('bridge-v2'), candidate: this.o.candidate, ttlSeconds: this.o.ttlSeconds }, {
      onLeader: () => {
        this.leading = true;
        this.enqueue(() => this.begin());
      },
      onFollower: (leader) => {
        if (this.leading) this.log.warn({ leader }, 'no longer runs the v2 bridge');
        this.leading = false;
        this.enqueue(() => this.end());
      },
      onError: (err) => this.log.warn({ err: err.message }, 'v2 bridge election: etcd error, retrying'),
    });
    this.election.start();
  }

  async stop(): Promise<void> {
    this.leading = false;
    await this.election?.stop().catch((err: unknown) => this.log.warn({ err }, 'v2 bridge election stop failed'));
    this.enqueue(() => this.end());
    await this.transitions;
  }

  /** For crash drills: stop without resigning (the election key expires with the lease). */
  async abandon(): Promise<void> {
    this.leading = false;
    await this.election?.abandon();
    this.enqueue(() => this.end());
    await this.transitions;
  }

  private enqueue(fn: () => Promise<void>): void {
    this.transitions = this.transitions.then(fn).catch((err: unknown) => this.log.error({ err }, 'v2 bridge transition failed'));
  }

  private async begin(): Promise<void> {
    if (!this.leading || this.current !== undefined) return;
    if (this.retry) clearTimeout(this.retry);
    const v2 = new V2Client(this.o.etcd);
    const bridge = new ConftoolV2Bridge({
      v2, kv: this.o.kv, keys: this.o.keys, authority: this.o.etcd.conftoolV2 ?? 'v2', log: this.log, resyncMs: this.o.resyncMs,
    });
    try {
      await bridge.start();
    } catch (err) {
      await bridge.stop();
      await v2.close();
      this.log.error({ err: (err as Error).message }, 'v2 bridge could not start; retrying in 10 s');
      this.retry = setTimeout(() => this.enqueue(() => this.begin()), 10_000);
      this.retry.unref();
      return;
    }
    this.current = { bridge, v2 };
    this.log.info({ prefix: bridge.prefix, authority: bridge.authority }, 'running the v2 bridge: conftool pools kept identical in etcd v2 and v3');
  }

  private async end(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    const c = this.current;
    this.current = undefined;
    if (c === undefined) return;
    await c.bridge.stop();
    await c.v2.close();
  }
}
