// The harness itself: private ports, restart on the same data, cluster leader failover.
import t from 'tap';
import { startEtcd, startEtcdCluster } from '../helpers/etcd.js';

t.test('single etcd: serves, keeps data across kill + restart, on the same URL', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  t.match(etcd.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.not(etcd.clientUrl, 'http://127.0.0.1:2379', 'never the default port');
  await etcd.etcdctl(['put', '/k', 'v1']);
  await etcd.kill();
  await t.rejects(etcd.etcdctl(['get', '/k', '--dial-timeout=300ms', '--command-timeout=500ms']), 'down after kill');
  await etcd.restart();
  t.equal((await etcd.etcdctl(['get', '/k', '--print-value-only'])).trim(), 'v1');
});

t.test('three-member cluster: the leader dies, another member leads, data survives', async (t) => {
  const c = await startEtcdCluster(3);
  t.teardown(() => c.stop());
  t.equal(c.members.length, 3);
  await c.etcdctl(['put', '/k', 'v']);
  const leader = await c.leaderIndex();
  await c.members[leader].kill();
  t.notOk(c.members[leader].running());
  let next = -1;
  for (let i = 0; i < 100 && next < 0; i++) {
    next = await c.leaderIndex().catch(() => -1);
    if (next < 0) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(next >= 0 && next !== leader, `a new leader (${next}) replaced ${leader}`);
  await c.members[leader].restart();
  t.ok(c.members[leader].running());
  t.equal((await c.etcdctl(['get', '/k', '--print-value-only'])).trim(), 'v');
});
