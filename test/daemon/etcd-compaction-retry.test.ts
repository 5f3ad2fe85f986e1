// The compaction loop (src/daemon/etcd-compaction.ts) on a real etcd, driven directly: a compaction
// that fails (etcd stopped just before the call: a real StoreUnavailableError) is logged at warn,
// counted as an error and retried at the next interval, which then compacts; and when someone else
// (the etcd operator) already compacted further, poold's compaction is not an error.
import t from 'tap';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startEtcd } from '../helpers/etcd.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { EtcdMetrics } from '../../src/api/etcd-metrics.js';
import { EtcdCompaction } from '../../src/daemon/etcd-compaction.js';
import { CompactedError } from '../../src/store/errors.js';
import { sleep, waitFor } from './harness.js';

interface Line { level: number; msg: string; revision?: number; err?: string }

function capture() {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  return { log, lines };
}

async function value(m: EtcdMetrics, which: 'ok' | 'error'): Promise<number> {
  return (await m.compactions.get()).values.find((v) => v.labels.result === which)?.value ?? -1;
}

t.test('a failed compaction warns and is retried at the next interval', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new Etcd3Kv({ endpoints: etcd.endpoints, timeoutMs: 1000 });
  t.teardown(() => kv.close());
  const metrics = new EtcdMetrics(new Registry());
  const { log, lines } = capture();
  let failNext = true;
  // The real client; the first compaction finds etcd stopped (and etcd is started again after it).
  const hooked = Object.assign(Object.create(kv) as Etcd3Kv, {
    compact: async (revision: number) => {
      if (!failNext) return kv.compact(revision);
      failNext = false;
      await etcd.stop();
      try {
        return await kv.compact(revision);
      } finally {
        await etcd.restart();
      }
    },
  });
  const c = new EtcdCompaction({ kv: () => hooked, probeKey: '/r/', intervalMs: 1500, metrics, log });
  const writer = setInterval(() => void kv.txn({ compare: [], success: [{ type: 'put', key: '/r/k', value: String(Date.now()) }] }).catch(() => undefined), 100);
  t.teardown(() => clearInterval(writer));
  await sleep(300);
  c.start();
  t.teardown(() => c.stop());

  const warn = await waitFor('a warning', async () => lines.find((l) => l.msg === 'etcd compaction failed; will retry at the next interval'), (l) => l !== undefined, 20_000);
  t.equal(warn!.level, 40, 'at warn');
  t.match(warn!.err, /cannot reach etcd|UNAVAILABLE|unavailable/i, 'naming the real error');
  t.equal(await value(metrics, 'error'), 1);
  t.equal(await value(metrics, 'ok'), 0);
  const done = await waitFor('a compaction at a later interval', async () => lines.find((l) => l.msg === 'compacted etcd history'), (l) => l !== undefined, 20_000);
  t.equal(done!.level, 30, 'at info');
  t.ok(done!.revision! > warn!.revision!, `retried with the newer target (${warn!.revision} then ${done!.revision})`);
  t.equal(await value(metrics, 'ok'), 1);
  t.equal((await metrics.compactedRevision.get()).values[0]?.value, done!.revision);
  const err = await kv.range({ key: '/r/k', revision: done!.revision! - 1 }).then(() => undefined, (e: unknown) => e);
  t.type(err, CompactedError, 'etcd really compacted');
});

t.test('history the operator already compacted further is not an error', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new Etcd3Kv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const metrics = new EtcdMetrics(new Registry());
  const { log, lines } = capture();
  const put = async () => (await kv.txn({ compare: [], success: [{ type: 'put', key: '/r/k', value: String(Date.now()) }] })).revision;
  await put();
  const c = new EtcdCompaction({ kv: () => kv, probeKey: '/r/', intervalMs: 1000, metrics, log });
  c.start();
  t.teardown(() => c.stop());
  await sleep(200); // poold records its first revision
  // The operator compacts to the newest revision, ahead of poold's target.
  await put();
  await etcd.etcdctl(['compact', String(await put())]);
  const line = await waitFor('poold tried', async () => lines.find((l) => /compact/.test(l.msg)), (l) => l !== undefined, 10_000);
  t.equal(line!.msg, 'etcd history already compacted at or past this revision');
  t.equal(line!.level, 30, 'info, not a warning');
  t.equal(await value(metrics, 'error'), 0);
  t.equal(await value(metrics, 'ok'), 1);
});
