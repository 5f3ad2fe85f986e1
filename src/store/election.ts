// Leader election: one key, created only if absent (create_revision == 0) and attached to the
// candidate's lease. Whoever created it leads until its lease ends: resign deletes it, a crash
// lets it expire after the TTL. Followers watch the key from the revision they read it at, so
// they cannot miss its deletion, and campaign again at once: takeover takes about the TTL.
// Campaigns run one at a time: two at once (a lost lease and the key's deletion seen together after
// a stalled event loop) each granted a lease, and the later one replaced the winner's, leaving this
// instance following its own key on a lease it still kept alive, forever. A key of ours left on one of
// our earlier leases (declared lost by the watchdog while etcd still held it) is deleted, guarded on
// its mod revision so a genuine leader is never deposed, instead of waited for.
import { StoreError } from '../model/errors.js';
import { KeptLease } from './lease.js';
import type { Etcd3Kv } from './kv-etcd3.js';
import { watchPrefix, type PrefixWatch } from './watch.js';

export interface ElectionHandlers {
  /** This candidate leads (called on every transition to leader). */
  onLeader(): void;
  /** This candidate follows `leader` (its value; undefined while nobody leads). */
  onFollower(leader: string | undefined): void;
  /** A store error while campaigning; the election keeps retrying. */
  onError?(err: StoreError): void;
}

export interface ElectionOptions {
  /** The election key, e.g. keys.election(). */
  key: string;
  /** This candidate's identity, stored as the key's value (e.g. host name). */
  candidate: string;
  ttlSeconds: number;
  retryMs?: number;
}

export class Election {
  private lease: KeptLease | undefined;
  private watch: PrefixWatch | undefined;
  private leading = false;
  private stopped = false;
  private myCreateRevision = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Leases this election granted before its current one (newest last, a few at most). */
  private readonly pastLeases = new Set<string>();

  constructor(private readonly kv: Etcd3Kv, private readonly opts: ElectionOptions, private readonly handlers: ElectionHandlers) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.schedule(0);
  }

  /** Resigns (deletes the key if we hold it, revokes the lease) and stops campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.watch?.stop();
    if (this.leading && this.myCreateRevision > 0) {
      await this.kv.txn({
        compare: [{ key: this.opts.key, target: 'create', op: '==', value: this.myCreateRevision }],
        success: [{ type: 'delete', key: this.opts.key }],
      });
    }
    this.leading = false;
    await this.lease?.revoke();
  }

  /** For crash drills: stop keepalives and watching without resigning (the key expires after the TTL). */
  async abandon(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.watch?.stop();
    this.leading = false;
    this.lease?.abandon();
  }

  /** The current leader's value, if any. */
  async leader(): Promise<string | undefined> {
    return (await this.kv.get(this.opts.key))?.value;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.running.then(() => this.campaign()).catch((err: unknown) => {
        this.handlers.onError?.(err instanceof StoreError ? err : new StoreError(String(err), { key: this.opts.key }, { cause: err }));
        this.schedule(this.opts.retryMs ?? 500);
      });
    }, ms);
  }

  private setLeading(leading: boolean, leader?: string): void {
    const was = this.leading;
    this.leading = leading;
    if (leading && !was) this.handlers.onLeader();
    if (!leading) this.handlers.onFollower(leader);
  }

  private rememberPast(id: string): void {
    this.pastLeases.add(id);
    if (this.pastLeases.size > 8) this.pastLeases.delete(this.pastLeases.values().next().value as string);
  }

  private async campaign(): Promise<void> {
    if (this.stopped) return;
    if (!this.lease || this.lease.lost) {
      if (this.lease) this.rememberPast(this.lease.id);
      const lease: KeptLease = await KeptLease.grant(this.kv, this.opts.ttlSeconds, () => {
        // Revoke it (best effort): the watchdog may have declared it lost while etcd still holds it,
        // and our key must not outlive it.
        lease.revoke().catch((err: unknown) => this.handlers.onError?.(new StoreError(
          `could not revoke lost election lease ${lease.id}: ${(err as Error).message}`, { key: this.opts.key, lease: lease.id }, { cause: err })));
        // Our key went with the lease: we no longer lead.
        if (this.stopped) return;
        this.setLeading(false);
        this.schedule(0);
      });
      this.lease = lease;
    }
    const { key } = this.opts;
    const won = await this.kv.txn({
      compare: [{ key, target: 'create', op: '==', value: 0 }],
      success: [this.lease.putOp(key, this.opts.candidate)],
    });
    const r = await this.kv.range({ key });
    if (this.stopped) return;
    const holder = r.kvs[0];
    if (holder === undefined) {
      this.schedule(0); // the leader resigned between our txn and read: try again now
      return;
    }
    const mine = holder.lease === this.lease.id;
    if (!mine && this.pastLeases.has(holder.lease)) {
      // Our own stale key: delete exactly that version of it, then campaign again.
      await this.kv.txn({
        compare: [{ key, target: 'mod', op: '==', value: holder.modRevision }],
        success: [{ type: 'delete', key }],
      });
      this.schedule(0);
      return;
    }
    if (won.succeeded || mine) this.myCreateRevision = holder.createRevision;
    this.setLeading(mine, holder.value);
    // Leader or follower, watch the key: followers to take over when it goes, the leader to
    // notice if it was deleted behind its back.
    await this.watch?.stop();
    const watchedCreate = holder.createRevision;
    this.watch = watchPrefix(this.kv, key, r.revision + 1, {
      onEvents: (evs) => {
        const relevant = evs.filter((e) => e.key === key);
        if (relevant.some((e) => e.type === 'delete' || e.createRevision !== watchedCreate)) {
          if (this.leading) this.setLeading(false);
          this.schedule(0);
        }
      },
      onError: (err) => {
        this.handlers.onError?.(err);
        this.schedule(this.opts.retryMs ?? 500);
      },
    });
  }
}
