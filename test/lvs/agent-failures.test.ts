// The agent when ipvsadm fails (reported, retried) and when a service's VIP moves (old one deleted).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';
import { putDef, putState, startTestAgent } from './agent-helpers.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const source = { kind: 'etcd' as const, etcd: { endpoints: etcd.endpoints } };

t.test('a failing ipvsadm -R is reported with the failed line, then retried', async (t) => {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  // Fails the first -R with a kernel-style error and exit 255, like ipvsadm without privileges.
  const flaky = join(fake.dir, 'flaky-ipvsadm');
  const marker = join(fake.dir, 'failed-once');
  writeFileSync(flaky, [
    '#!/bin/sh',
    `if [ "$1" = -R ] && [ ! -e '${marker}' ]; then touch '${marker}'; cat >/dev/null; echo 'Permission denied (you must be root)' >&2; exit 255; fi`,
    `exec '${fake.path}' "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });
  const def = serviceDef({ service: 'flaky' });
  await putDef(kv, def);
  await putState(kv, poolState(def, { 'sca1001.eqiad.wmnet': {} }, 1));
  const a = await startTestAgent(fake, source, { services: ['eqiad/flaky'], ipvsadmPath: flaky, retryMs: 100 });
  t.teardown(() => a.agent.stop());
  const failed = await a.next((r) => r.result === 'error');
  t.match(failed.error, /-R failed at "-A -t 10.2.2.18:8080 -s wrr" \(exit 255\): Permission denied \(you must be root\)/);
  const ok = await a.next((r) => r.result === 'applied');
  t.equal(ok.reason, 'retry');
  t.same(ok.commands, ['-A -t 10.2.2.18:8080 -s wrr', '-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10']);
  t.ok(a.logs.some((l) => l.event === 'error' && /Permission denied/.test(String(l.fields.error))), 'the failure is logged');
  const metrics = await (await fetch(`${a.agent.url}/metrics`)).text();
  t.match(metrics, /poold_lvs_reconciles_total\{result="error",lvs_host="lvs1001"\} 1\n/);
  t.match(metrics, /poold_lvs_reconciles_total\{result="applied",lvs_host="lvs1001"\} 1\n/);
});

t.test('a service whose VIP moves: the new virtual service is built before the old one is deleted', async (t) => {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const def = serviceDef({ service: 'moving' });
  await putDef(kv, def);
  await putState(kv, poolState(def, { 'sca1001.eqiad.wmnet': {} }, 1));
  // Someone else's service on the box: never touched.
  fake.run(['-A', '-t', '192.0.2.1:80', '-s', 'rr']);
  const a = await startTestAgent(fake, source, { services: ['eqiad/moving'] });
  t.teardown(() => a.agent.stop());
  await a.next((r) => r.result === 'applied');
  const since = a.reports.length;
  const mark = fake.log().length;
  await putDef(kv, { ...def, lvs: { ...def.lvs, ip: '10.2.2.19' } });
  await a.next((r) => r.result === 'applied', since);
  t.same(fake.log().slice(mark).filter((e) => e.argv[0] === '-R').map((e) => e.stdin), [
    '-A -t 10.2.2.19:8080 -s wrr\n-a -t 10.2.2.19:8080 -r 10.64.0.1 -w 10\n-D -t 10.2.2.18:8080\n',
  ]);
  t.equal(fake.run(['-S', '-n']).stdout,
    '-A -t 10.2.2.19:8080 -s wrr\n-a -t 10.2.2.19:8080 -r 10.64.0.1:8080 -g -w 10\n-A -t 192.0.2.1:80 -s rr\n',
    'the unmanaged service is still there');
});

t.test('a VIP move while the new state is unusable deletes nothing', async (t) => {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const def = serviceDef({ service: 'moving2', lvs: { ip: '10.2.2.30' } });
  await putDef(kv, def);
  await putState(kv, poolState(def, { 'sca1001.eqiad.wmnet': {} }, 1));
  const a = await startTestAgent(fake, source, { services: ['eqiad/moving2'] });
  t.teardown(() => a.agent.stop());
  await a.next((r) => r.result === 'applied');
  const mark = fake.log().length;
  await kv.txn({ compare: [], success: [{ type: 'delete', key: '/poold/v1/state/eqiad/moving2' }] });
  await a.next((r) => r.services.some((s) => s.skipped === 'no pool state published'));
  const since = a.reports.length;
  await putDef(kv, { ...def, lvs: { ...def.lvs, ip: '10.2.2.31' } });
  const r = await a.next(() => true, since);
  t.match(r.services[0], { service: 'eqiad/moving2', vs: 'tcp 10.2.2.31:8080', skipped: 'no pool state published' });
  t.same(fake.log().slice(mark).filter((e) => e.argv[0] === '-R'), [], 'the old virtual service stays until the new one can be built');
});

t.test('a deleted service definition leaves its virtual service in place', async (t) => {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const def = serviceDef({ service: 'going' });
  await putDef(kv, def);
  await putState(kv, poolState(def, { 'sca1001.eqiad.wmnet': {} }, 1));
  const a = await startTestAgent(fake, source, { services: ['eqiad/going'] });
  t.teardown(() => a.agent.stop());
  await a.next((r) => r.result === 'applied');
  const since = a.reports.length;
  const mark = fake.log().length;
  await kv.txn({ compare: [], success: [{ type: 'delete', key: '/poold/v1/services/eqiad/going' }] });
  const r = await a.next(() => true, since);
  t.same(r.services, [{ service: 'eqiad/going', skipped: 'no service definition' }]);
  t.same(fake.log().slice(mark).filter((e) => e.argv[0] === '-R'), [], 'no command');
});

t.test('the period timer alone repairs a hand edit', async (t) => {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const def = serviceDef({ service: 'timer' });
  await putDef(kv, def);
  await putState(kv, poolState(def, { 'sca1001.eqiad.wmnet': {}, 'sca1002.eqiad.wmnet': {} }, 1));
  const a = await startTestAgent(fake, source, { services: ['eqiad/timer'], periodMs: 300 });
  t.teardown(() => a.agent.stop());
  await a.next((r) => r.result === 'applied');
  fake.run(['-d', '-t', '10.2.2.18:8080', '-r', '10.64.0.2']);
  const mark = fake.log().length;
  const r = await a.next((x) => x.result === 'applied' && x.reason === 'period');
  t.same(r.commands, ['-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10']);
  t.same(fake.log().slice(mark).filter((e) => e.argv[0] === '-R').map((e) => e.stdin), ['-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10\n']);
});

t.test('etcd down at start: the existing table is left alone until etcd answers', async (t) => {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const etcd2 = await startEtcd();
  t.teardown(() => etcd2.stop());
  const kv2 = await openKv({ endpoints: etcd2.endpoints });
  t.teardown(() => kv2.close());
  const def = serviceDef({ service: 'late' });
  await putDef(kv2, def);
  await putState(kv2, poolState(def, { 'sca1001.eqiad.wmnet': {}, 'sca1002.eqiad.wmnet': {} }, 1));
  // What a previous agent (or PyBal) left in the kernel: one server missing.
  fake.run(['-R'], '-A -t 10.2.2.18:8080 -s wrr\n-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n');
  await etcd2.stop();
  const mark = fake.log().length;
  const started = Date.now();
  const a = await startTestAgent(fake, { kind: 'etcd', etcd: { endpoints: etcd2.endpoints } }, { services: ['eqiad/late'], periodMs: 200 });
  t.teardown(() => a.agent.stop());
  t.ok(Date.now() - started < 10_000, 'runAgent returns although etcd is down');
  await a.next((r) => r.reason === 'period' && r.result === 'source-down');
  t.same(fake.log().slice(mark), [], 'no ipvsadm run at all: not even a read');
  await etcd2.restart();
  await a.next((r) => r.result === 'applied', 0, 30_000);
  t.same(fake.log().slice(mark).filter((e) => e.argv[0] === '-R').map((e) => e.stdin), ['-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10\n'],
    'then only the missing server is added (adopted, not rebuilt)');
});
