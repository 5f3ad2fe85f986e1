// The leader compacts etcd's history (src/daemon/etcd-compaction.ts), as kube-apiserver does: every
// --etcd-compaction-interval to the revision it recorded one interval earlier. Real etcd, with its
// default (no) auto-compaction. Two in-process daemons: only the leader compacts. Old revisions
// become unreadable (compacted), a revision younger than one interval always still reads, and the
// daemons' watches survive: a depool written after several compactions reaches /pools. A third
// daemon on its own etcd with --etcd-compaction-interval 0 never compacts.
import t, { type Test } from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { openKv } from '../../src/store/connection.js';
import { CompactedError } from '../../src/store/errors.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { execFile } from 'node:child_process';
import { POOLD } from '../helpers/poolctl.js';
import { lines, poolctl, poolsDir, serviceYaml, sleep, spawnPoold, startDaemon, stopPoold, text, waitFor } from './harness.js';

const PORT = 8094;
const A = ['127.0.94.1', '127.0.94.2', '127.0.94.3'];
const H = ['ec1001.eqiad.wmnet', 'ec1002.eqiad.wmnet', 'ec1003.eqiad.wmnet'];
const INTERVAL_MS = 2000;

const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'ecsvc', cluster: 'ecc', ip: '10.9.94.1', port: PORT, threshold: 0.3, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});

/** A sample of the daemon's /metrics, without labels or with `labels` (e.g. `result="ok"`). */
async function metric(d: Daemon, name: string, labels = ''): Promise<number> {
  const body = await text(`${d.url}/metrics`);
  const m = new RegExp(`^${name}${labels === '' ? '' : `\\{${labels}\\}`} (\\S+)$`, 'm').exec(body);
  if (m === null) throw new Error(`${name}{${labels}} not in /metrics`);
  return Number(m[1]);
}

/** A private etcd (default limits) with the pools synced, and a client; both stopped with `t`. */
async function syncedEtcd(t: Test) {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  await poolctl(['sync', dir], etcd.clientUrl);
  const kv = await openKv({ endpoints: etcd.endpoints }, 'gateway');
  t.teardown(() => kv.close());
  return { etcd, kv };
}

t.test('the leader compacts to the revision of one interval ago; the other instance does not', async (t) => {
  const { etcd, kv } = await syncedEtcd(t);
  const put = async (v: string) => (await kv.txn({ compare: [], success: [{ type: 'put', key: '/ec-test/probe', value: v }] })).revision;
  const readAt = (revision: number) => kv.range({ key: '/ec-test/probe', revision });

  const a = await startDaemon(etcd.endpoints, { observer: 'ec-a', etcdCompactionIntervalMs: INTERVAL_MS });
  t.teardown(() => a.stop());
  await waitFor('ec-a leads', async () => a.isLeader, (x) => x, 15_000);
  const b = await startDaemon(etcd.endpoints, { observer: 'ec-b', etcdCompactionIntervalMs: INTERVAL_MS });
  t.teardown(() => b.stop());
  const pool = () => text(`${b.url}/pools/ecsvc_${PORT}`);
  const ALL_UP = lines(H.map((h) => `${h}:\tenabled/up/pooled`).join('\n'));
  await waitFor('all pooled, seen by the follower', pool, (x) => lines(x).join() === ALL_UP.join(), 15_000);

  const old = await put('old');
  t.equal((await readAt(old)).kvs[0]?.value, 'old', 'before any compaction the old revision reads');

  // Several intervals: keep writing, and check each young revision still reads.
  let youngChecked = 0;
  const until = Date.now() + 4 * INTERVAL_MS;
  while (Date.now() < until) {
    const acked = Date.now();
    const r = await put(`young-${acked}`);
    // A newer revision on top: etcd keeps the compaction revision itself readable, so only a
    // revision below the newest one shows a compaction that went too far.
    await kv.txn({ compare: [], success: [{ type: 'put', key: '/ec-test/other', value: `${acked}` }] });
    await sleep(300);
    const sentAt = Date.now();
    // Only a read that started well within one interval of the write is a claim about the rule
    // (on a loaded machine the sleep may last longer): history younger than an interval is kept.
    if (sentAt - acked < INTERVAL_MS - 500) {
      t.equal((await readAt(r)).kvs[0]?.value, `young-${acked}`, `revision ${r}, written ${sentAt - acked} ms ago, still reads`);
      youngChecked++;
    }
  }
  t.ok(youngChecked >= 3, `young revisions checked (${youngChecked})`);

  const compacted = await waitFor('the leader compacted past the old revision', () => metric(a, 'poold_etcd_compacted_revision'), (r) => r >= old, 10_000);
  t.ok(compacted >= old, `compacted to ${compacted}`);
  const err = await readAt(old).then(() => undefined, (e: unknown) => e);
  t.type(err, CompactedError, 'the old revision is compacted away');
  t.ok(await metric(a, 'poold_etcd_compactions_total', 'result="ok"') >= 1, 'compactions counted');
  t.equal(await metric(a, 'poold_etcd_compactions_total', 'result="error"'), 0, 'none failed');
  // Never compacted to a revision newer than what existed one interval ago.
  const now = await put('now');
  t.ok(compacted < now, `compacted ${compacted} < current ${now}`);

  t.equal(b.isLeader, false, 'ec-b follows');
  t.equal(await metric(b, 'poold_etcd_compactions_total', 'result="ok"'), 0, 'the follower never compacts');
  t.equal(await metric(b, 'poold_etcd_compacted_revision'), 0);

  // The watches of both instances survived the compactions: a depool reaches the follower's /pools.
  await poolctl(['depool', H[0], '--reason', 'after compactions'], etcd.clientUrl);
  const DEPOOLED = lines([`${H[0]}:\tdisabled/up/not pooled`, `${H[1]}:\tenabled/up/pooled`, `${H[2]}:\tenabled/up/pooled`].join('\n'));
  t.same(lines(await waitFor('depool visible after compactions', pool, (x) => lines(x).join() === DEPOOLED.join(), 15_000)), DEPOOLED);
  t.same(lines(await text(`${a.url}/pools/ecsvc_${PORT}`)), DEPOOLED, 'on the leader too');
});

t.test('--etcd-compaction-interval 0 never compacts', async (t) => {
  const { etcd, kv } = await syncedEtcd(t);
  const first = (await kv.txn({ compare: [], success: [{ type: 'put', key: '/ec-test/probe', value: 'first' }] })).revision;
  const d = await startDaemon(etcd.endpoints, { observer: 'ec-z', etcdCompactionIntervalMs: 0 });
  t.teardown(() => d.stop());
  await waitFor('ec-z leads', async () => d.isLeader, (x) => x, 15_000);
  for (let i = 0; i < 6; i++) {
    await kv.txn({ compare: [], success: [{ type: 'put', key: '/ec-test/probe', value: `v${i}` }] });
    await sleep(500);
  }
  t.equal((await kv.range({ key: '/ec-test/probe', revision: first })).kvs[0]?.value, 'first', 'the first revision still reads');
  t.equal(await metric(d, 'poold_etcd_compactions_total', 'result="ok"'), 0);
});

t.test('the poold flag: --etcd-compaction-interval 1s compacts (info log with the revision); a bad value is a usage error', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  await poolctl(['sync', dir], etcd.clientUrl);
  const p = await spawnPoold(etcd.clientUrl, 'ec-p', ['--etcd-compaction-interval', '1s']);
  t.teardown(() => stopPoold(p));
  const kv = await openKv({ endpoints: etcd.endpoints }, 'gateway');
  t.teardown(() => kv.close());
  // Writes so there is history to compact.
  // A write in flight when etcd stops at teardown fails; it only made history, so it is not an error.
  const writer = setInterval(() => void kv.txn({ compare: [], success: [{ type: 'put', key: '/ec-test/p', value: String(Date.now()) }] }).catch(() => undefined), 200);
  t.teardown(() => clearInterval(writer));
  const line = await waitFor('a compaction logged', async () => p.output().split('\n').find((l) => l.includes('"msg":"compacted etcd history"')), (l) => l !== undefined, 15_000);
  t.match(line, /"level":30,.*"revision":\d+/, 'logged at info with the revision');

  const bad = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [POOLD, '--etcd', etcd.clientUrl, '--etcd-compaction-interval', 'soon'], (err, _out, stderr) => resolve({ code: err === null ? 0 : (err.code as number), stderr }));
  });
  t.equal(bad.code, 2, 'exit 2 (usage)');
  t.match(bad.stderr, /bad --etcd-compaction-interval 'soon': a duration >= 1s like 5m, or 0 to never compact/);
});
