// An instance's observations after a lost lease, at size: 10 000 observations (several MB, far over
// one etcd transaction) come back under a new lease in bounded batches, against etcd's DEFAULT
// limits; one published and one removed while the batches are in flight end up as they should.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { Keys } from '../../src/store/keys.js';
import { ObservationPublisher } from '../../src/store/observations.js';
import { ETCD_MAX_TXN_OPS, TXN_BUDGET_BYTES, txnBytes } from '../../src/store/limits.js';
import type { TxnRequest, TxnResult } from '../../src/store/kv.js';
import type { Observation } from '../../src/model/types.js';

/** The real etcd3 Kv; records every transaction and lets the test act just before one is sent. */
class RecordingKv extends Etcd3Kv {
  readonly txns: TxnRequest[] = [];
  before: ((r: TxnRequest) => Promise<void>) | undefined;
  override async txn(r: TxnRequest): Promise<TxnResult> {
    this.txns.push(r);
    const hook = this.before;
    if (hook) await hook(r);
    return super.txn(r);
  }
}

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

t.test('10 000 observations are re-published after a lost lease, in bounded batches', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new RecordingKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const keys = new Keys();
  const events: string[] = [];
  const pub = new ObservationPublisher(kv, keys, {
    ttlSeconds: 3,
    onLeaseLost: () => events.push('lost'),
    onRepublished: (id) => events.push(`republished ${id}`),
    onError: (e) => events.push(`error ${e.message}`),
  });
  t.teardown(() => pub.stop());
  const N = 10_000;
  const hk = (i: number) => ({ dc: 'eqiad', name: `svc${Math.floor(i / 20)}_80`, host: `h${i % 20}.eqiad.wmnet`, observer: 'lvs1001' });
  const obs = (i: number, up = true): Observation => ({
    observer: 'lvs1001', up, reason: up ? 'ok: HTTP 200 in 3 ms' : 'connection refused', code: up ? 'ok' : 'refused', at: 1_700_000_000_000 + i, flapping: false,
    checks: { http: { up, code: up ? 'ok' : 'refused', message: 'HTTP 200 OK, 1234 bytes of body, matched expectations', timings: { connectMs: 1, firstByteMs: 2, totalMs: 3 }, findings: [] } },
  });
  // Recorded before the lease exists (no write each), then put under it by start(), in batches.
  for (let i = 0; i < N; i++) await pub.publish(hk(i), obs(i));
  await pub.start();
  const first = pub.leaseId!;
  const count = async (lease: string) => {
    const r = await kv.range({ key: keys.healthPrefix(), prefix: true });
    return r.kvs.filter((e) => e.lease === lease).length;
  };
  t.equal(await count(first), N, 'all 10 000 under the first lease');
  const totalBytes = kv.txns.reduce((n, r) => n + txnBytes(r), 0);
  t.ok(totalBytes > 1_572_864, `the whole set (${totalBytes} bytes) is more than one etcd request may carry`);

  // During the re-publication, one observation changes and one is removed while batches are in flight.
  kv.txns.length = 0;
  let batches = 0;
  kv.before = async (r) => {
    if (r.success.length < 50) return; // not a re-publication batch
    batches++;
    if (batches === 3) {
      kv.before = undefined;
      await pub.publish(hk(0), obs(0, false)); // batch 1 already put the old value
      await pub.remove(hk(N - 1)); // a later batch still holds it
    }
  };
  await etcd.etcdctl(['lease', 'revoke', BigInt(first).toString(16)]);
  await until('re-published', () => events.some((e) => e.startsWith('republished')), 60_000);
  t.same(events.filter((e) => e.startsWith('error')), [], 'no failed attempt');
  const second = pub.leaseId!;
  t.not(second, first, 'under a new lease');
  t.equal(await count(second), N - 1, 'every observation is back (but the removed one)');
  t.equal(await kv.get(keys.health(hk(N - 1))), undefined, 'the one removed meanwhile stays removed');
  t.equal((JSON.parse((await kv.get(keys.health(hk(0))))!.value) as Observation).up, false, 'the one changed meanwhile has its newest value');
  const worstOps = Math.max(...kv.txns.map((r) => r.success.length));
  const worstBytes = Math.max(...kv.txns.map(txnBytes));
  t.ok(kv.txns.length >= Math.ceil(N / ETCD_MAX_TXN_OPS), `${kv.txns.length} transactions`);
  t.ok(worstOps <= ETCD_MAX_TXN_OPS, `at most ${ETCD_MAX_TXN_OPS} puts each (worst ${worstOps})`);
  t.ok(worstBytes <= TXN_BUDGET_BYTES, `at most 1 MiB each (worst ${worstBytes})`);
});
