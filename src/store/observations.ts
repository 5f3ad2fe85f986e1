// Publishes this poold's health observations under its own lease (DESIGN §3), so they vanish
// when the poold dies. If the lease is lost while we live, we report it, take a new lease and
// put every current observation again, so readers see at most a gap, never stale data.
import type { Observation } from '../model/types.js';
import type { StoreError } from '../model/errors.js';
import { KeptLease, type LeaseLostError } from './lease.js';
import type { Etcd3Kv } from './kv-etcd3.js';
import type { HealthKey, Keys } from './keys.js';

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

  constructor(private readonly kv: Etcd3Kv, private readonly keys: Keys, private readonly opts: PublisherOptions) {}

  get leaseId(): string | undefined {
    return this.lease?.id;
  }

  async start(): Promise<void> {
    this.lease = await KeptLease.grant(this.kv, this.opts.ttlSeconds, (err) => this.lost(err));
  }

  /** Publishes (or replaces) one observation; returns the revision. */
  async publish(key: HealthKey, obs: Observation): Promise<number> {
    const k = this.keys.health(key);
    const v = JSON.stringify(obs);
    this.current.set(k, v);
    if (!this.lease || this.lease.lost) return 0; // re-published with the next lease
    return this.lease.put(k, v);
  }

  async remove(key: HealthKey): Promise<void> {
    const k = this.keys.health(key);
    this.current.delete(k);
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
    try {
      const lease = await KeptLease.grant(this.kv, this.opts.ttlSeconds, (e) => this.lost(e));
      this.lease = lease;
      if (this.current.size > 0) {
        await this.kv.txn({ compare: [], success: [...this.current].map(([k, v]) => lease.putOp(k, v)) });
      }
      this.opts.onRepublished?.(lease.id);
    } catch (err) {
      this.opts.onError?.(err as StoreError);
      this.retry = setTimeout(() => void this.republish(), this.opts.retryMs ?? 500);
    }
  }
}
