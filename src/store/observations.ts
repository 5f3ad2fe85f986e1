// Publishes this poold's health observations under its own lease (ARCHITECTURE.md §3), so they vanish
// when the poold dies. If the lease is lost while we live, we report it, take a new lease and
// put every current observation again, so readers see at most a gap, never stale data.
// Re-publication goes in bounded batches (an instance may hold 10k observations, several MB: far
// over what one etcd transaction may carry, see limits.ts); what changes while the batches are in
// flight is written after them, so the newest value (or removal) always lands last.
import type { Observation } from '../model/types.js';
import type { StoreError } from '../model/errors.js';
import { KeptLease, type LeaseLostError } from './lease.js';
import type { Etcd3Kv } from './kv-etcd3.js';
import type { HealthKey, Keys } from './keys.js';
import type { TxnOp } from './kv.js';
import { packOps } from './limits.js';

export interface PublisherOptions {
  ttlSeconds: number;
  /** The lease was lost (observations are gone until re-published). */
  onLeaseLost?(err: LeaseLostError): void;
  /** A new lease holds every current observation again. */
  onRepublished?(leaseId: string): void;
  /** Re-publishing failed (etcd still unreachable); it is retried. */
  onError?(err: StoreError): void;
  /** Delay between re-publish attempts. */
  retryMs?: number;
}

export class ObservationPublisher {
  private lease: KeptLease | undefined;
  private readonly current = new Map<string, string>();
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  /** True from a lost lease until every observation is back: publish() then only records. */
  private republishing = false;
  /** Keys published or removed while re-publishing, written again after the batches. */
  private readonly touched = new Set<string>();
  private running = false;
  private rerun = false;

  constructor(private readonly kv: Etcd3Kv, private readonly keys: Keys, private readonly opts: PublisherOptions) {}

  get leaseId(): string | undefined {
    return this.lease?.id;
  }

  /** Takes the lease; observations published before this are put under it. */
  async start(): Promise<void> {
    this.lease = await KeptLease.grant(this.kv, this.opts.ttlSeconds, (err) => this.lost(err));
    if (this.current.size > 0) await this.putAll(this.lease);
  }

  /** Publishes (or replaces) one observation; returns the revision (0: recorded, written with the next lease). */
  async publish(key: HealthKey, obs: Observation): Promise<number> {
    const k = this.keys.health(key);
    const v = JSON.stringify(obs);
    this.current.set(k, v);
    if (this.republishing) {
      this.touched.add(k);
      return 0;
    }
    if (!this.lease || this.lease.lost) return 0; // re-published with the next lease
    return this.lease.put(k, v);
  }

  async remove(key: HealthKey): Promise<void> {
    const k = this.keys.health(key);
    this.current.delete(k);
    if (this.republishing) this.touched.add(k); // a batch in flight may still put it: deleted again after
    await this.kv.txn({ compare: [], success: [{ type: 'delete', key: k }] });
  }

  /** Revokes the lease: every observation of this poold disappears at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.lease?.revoke();
  }

  /** For tests and crash drills: stop keepalives without revoking. */
  abandon(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.lease?.abandon();
  }

  private lost(err: LeaseLostError): void {
    if (this.stopped) return;
    this.opts.onLeaseLost?.(err);
    void this.republish();
  }

  private async republish(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true; // lost again while re-publishing: go round once more with a new lease
      return;
    }
    this.running = true;
    this.republishing = true;
    try {
      let lease: KeptLease;
      do {
        this.rerun = false;
        lease = this.lease !== undefined && !this.lease.lost ? this.lease
          : await KeptLease.grant(this.kv, this.opts.ttlSeconds, (e) => this.lost(e));
        this.lease = lease;
        await this.putAll(lease);
      } while (this.rerun && !this.stopped);
      this.republishing = false;
      this.opts.onRepublished?.(lease.id);
    } catch (err) {
      this.opts.onError?.(err as StoreError);
      if (!this.stopped) this.retry = setTimeout(() => void this.republish(), this.opts.retryMs ?? 500);
    } finally {
      this.running = false;
    }
  }

  /** Every current observation under `lease`, in bounded batches; then whatever changed meanwhile. */
  private async putAll(lease: KeptLease): Promise<void> {
    this.touched.clear();
    for (const batch of packOps([...this.current].map(([k, v]) => lease.putOp(k, v)))) {
      await this.kv.txn({ compare: [], success: batch });
    }
    while (this.touched.size > 0) {
      const keys = [...this.touched];
      this.touched.clear();
      const ops = keys.map((k): TxnOp => {
        const v = this.current.get(k);
        return v === undefined ? { type: 'delete', key: k } : lease.putOp(k, v);
      });
      for (const batch of packOps(ops)) await this.kv.txn({ compare: [], success: batch });
    }
  }
}
