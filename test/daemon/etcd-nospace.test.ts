// etcd out of space (src/daemon/etcd-space.ts): with its NOSPACE alarm raised etcd refuses every
// write, conftool's included. poold must say so: CRITICAL in /alerts naming NOSPACE, and
// poold_etcd_nospace_alarm 1; after the operator's remedy (delete, compact, defrag, disarm) it clears.
//
// The alarm is real: THIS test alone starts its private etcd with a tiny backend quota and
// writes until etcd refuses (etcd 3.4's `etcdctl alarm` can only list and disarm, not raise). Every
// other test runs etcd's default limits.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { NoSpaceError } from '../../src/store/errors.js';
import type { GatewayKv } from '../../src/store/kv-gateway.js';
import { startDaemon, text, waitFor } from './harness.js';

const QUOTA = 4 * 1048576;
const etcd = await startEtcd({ smallBackendBytes: QUOTA });
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints }, 'gateway');
t.teardown(() => kv.close());
const d = await startDaemon(etcd.endpoints, { observer: 'ns-a', watchCheckIntervalMs: 500, etcdCompactionIntervalMs: 0 });
t.teardown(() => d.stop());

const alerts = () => text(`${d.url}/alerts`);
const metric = async (name: string): Promise<number> => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await text(`${d.url}/metrics`));
  if (m === null) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
};
const CRITICAL = /^CRITICAL - etcd is out of space \(NOSPACE alarm\): every write fails until it is compacted, defragmented and the alarm disarmed \(database [\d.]+ MiB\)$/;

t.test('before: no alarm, the database size is exported', async (t) => {
  await waitFor('leader', async () => d.isLeader, (x) => x, 15_000);
  t.equal(await waitFor('OK', alerts, (a) => a === 'OK - All pools are healthy'), 'OK - All pools are healthy');
  t.equal(await metric('poold_etcd_nospace_alarm'), 0);
  t.ok(await waitFor('db size', () => metric('poold_etcd_db_size_bytes'), (n) => n > 0) > 0);
  t.ok(await metric('poold_etcd_db_size_in_use_bytes') > 0, 'etcd 3.4 reports the size in use');
});

const filler = Buffer.alloc(256 * 1024, 'x').toString();
let written = 0;

t.test('writes until etcd refuses: CRITICAL naming NOSPACE, metric 1', async (t) => {
  let refusal: unknown;
  for (let i = 0; i < 200 && refusal === undefined; i++) {
    try {
      await kv.txn({ compare: [], success: [{ type: 'put', key: `/ns-test/filler/${i}`, value: filler }] });
      written++;
    } catch (err) {
      refusal = err;
    }
  }
  t.type(refusal, NoSpaceError, `etcd refused a write after ${written} of 256 KiB`);
  t.match((refusal as Error).message, /database space exceeded \(NOSPACE alarm\); every write fails until etcd is compacted, defragmented and the alarm disarmed/);
  t.match(await waitFor('CRITICAL', alerts, (a) => CRITICAL.test(a), 10_000), CRITICAL);
  t.equal(await metric('poold_etcd_nospace_alarm'), 1);
  t.same((await (kv as GatewayKv).status()).alarms, ['NOSPACE'], 'the JSON gateway adapter reads the alarm too');
  t.ok(await metric('poold_etcd_db_size_bytes') >= QUOTA * 0.5, 'the size is near the quota');
});

t.test("the operator's remedy: delete, compact, defrag, disarm; the alert clears", async (t) => {
  // Deletes are still accepted under NOSPACE.
  const del = await kv.txn({ compare: [], success: [{ type: 'delete', key: '/ns-test/filler/', prefix: true }] });
  await etcd.etcdctl(['compact', String(del.revision)]);
  await etcd.etcdctl(['defrag']);
  t.match(await etcd.etcdctl(['alarm', 'list']), /NOSPACE/, 'the alarm stays until disarmed');
  t.match(await alerts(), CRITICAL, 'still CRITICAL before the disarm');
  await etcd.etcdctl(['alarm', 'disarm']);
  t.equal(await waitFor('OK again', alerts, (a) => a === 'OK - All pools are healthy', 10_000), 'OK - All pools are healthy');
  t.equal(await metric('poold_etcd_nospace_alarm'), 0);
  await kv.txn({ compare: [], success: [{ type: 'put', key: '/ns-test/after', value: 'writes work again' }] });
  t.equal((await kv.get('/ns-test/after'))?.value, 'writes work again');
});
