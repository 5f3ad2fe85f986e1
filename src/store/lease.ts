// A lease kept alive in the background (etcd3's keepalive stream), with keys attached to it.
// When the process dies the keepalives stop and etcd deletes the keys after the TTL; when the
// lease is lost while we live (etcd unreachable past the TTL, or it expired), onLost fires once
// and the keys are gone: the owner must grant a new lease and re-put (observations.ts does).
// etcd3 itself only declares a lease lost 2×TTL after the last keepalive, but etcd may expire it
// after 1×TTL: a leader trusting etcd3 alone could overlap with its successor. So we also declare
// the lease lost ourselves once TTL (minus a margin) has passed since the last keepalive that
// etcd confirmed, counted from when that keepalive was sent.
import type { Lease } from 'etcd3';
import { StoreError } from '../model/errors.js';
import type { TxnOp } from './kv.js';
import type { Etcd3Kv } from './kv-etcd3.js';

export class LeaseLostError extends StoreError {}

export class KeptLease {
  private lostFlag = false;
  private watchdog: NodeJS.Timeout | undefined;

  private constructor(private readonly kv: Etcd3Kv, private readonly lease: Lease, readonly id: string, readonly ttlSeconds: number) {}

  /** Safety margin before the TTL at which we consider the lease gone. */
  static readonly MARGIN_MS = 300;

  /** Grants a lease of `ttlSeconds` (etcd's minimum is about 2 s in practice) and keeps it alive. */
  static async grant(kv: Etcd3Kv, ttlSeconds: number, onLost: (err: LeaseLostError) => void): Promise<KeptLease> {
    let confirmedSentAt = Date.now();
    let lastFiredAt = confirmedSentAt;
    const lease = kv.client.lease(ttlSeconds);
    // eslint-disable-next-line prefer-const -- declareLost may run during grant(), before `kept` is set; a const would be in its TDZ then
    let kept: KeptLease | undefined;
    const declareLost = (message: string, cause?: unknown) => {
      if (!kept || kept.lostFlag) return;
      kept.lostFlag = true;
      kept.stopWatchdog();
      onLost(new LeaseLostError(`etcd lease ${kept.id} (ttl ${ttlSeconds}s) was lost: ${message}; its keys are gone`,
        { lease: kept.id, ttlSeconds }, { cause }));
    };
    lease.on('lost', (err) => declareLost(err.message, err));
    lease.on('keepaliveFired', () => { lastFiredAt = Date.now(); });
    lease.on('keepaliveSucceeded', () => { confirmedSentAt = lastFiredAt; });
    let id: string;
    try {
      id = await lease.grant();
    } catch (err) {
      throw new StoreError(`could not get an etcd lease: ${(err as Error).message}`, { ttlSeconds, endpoints: kv.options.endpoints }, { cause: err });
    }
    kept = new KeptLease(kv, lease, id, ttlSeconds);
    const k = kept;
    k.watchdog = setInterval(() => {
      if (Date.now() >= confirmedSentAt + ttlSeconds * 1000 - KeptLease.MARGIN_MS) {
        declareLost(`no keepalive confirmed by etcd for ${ttlSeconds}s`);
        k.lease.release();
      }
    }, Math.min(100, ttlSeconds * 50));
    k.watchdog.unref();
    return kept;
  }

  get lost(): boolean {
    return this.lostFlag;
  }

  /** A put attached to this lease, for a transaction. */
  putOp(key: string, value: string): TxnOp {
    return { type: 'put', key, value, lease: this.id };
  }

  /** Puts one key attached to this lease; returns the revision. */
  async put(key: string, value: string): Promise<number> {
    return (await this.kv.txn({ compare: [], success: [this.putOp(key, value)] })).revision;
  }

  /** Ends the lease now: etcd deletes its keys at once. */
  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
  }

  async revoke(): Promise<void> {
    this.lostFlag = true;
    this.stopWatchdog();
    await this.lease.revoke();
  }

  /** Stops the keepalives without revoking, as a crashed process would (the keys expire after the TTL). */
  abandon(): void {
    this.lostFlag = true;
    this.stopWatchdog();
    this.lease.release();
  }
}
