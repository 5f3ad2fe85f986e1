// The LVS agent against a real etcd and the recording ipvsadm stand-in: exact command sequences for
// the everyday changes, adoption without a flush on restart, fail-static behaviour while etcd is
// down, repair of hand edits on the period, and its /metrics and /status.
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';
import { putDef, putState, startTestAgent } from './agent-helpers.js';
import type { EffectiveServer } from '../../src/model/types.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());

const H1 = 'sca1001.eqiad.wmnet';
const H2 = 'sca1002.eqiad.wmnet';
const H3 = 'sca1003.eqiad.wmnet';
const def = serviceDef();
const v6def = serviceDef({
  service: 'dns',
  lvs: { ip: '2620:0:861:ed1a:0:0:0:3', port: 53, protocol: 'udp', scheduler: 'sh' },
  servers: { 'dns1001.wikimedia.org': '2620:0:861:1:0:0:0:5', 'dns1002.wikimedia.org': '2620:0:861:1::6' },
});
let revision = 1;
const state = (servers: Record<string, Partial<EffectiveServer>>) => poolState(def, servers, revision++);
const all = { [H1]: {}, [H2]: {}, [H3]: {} };

const fake = fakeIpvsadm();
t.teardown(fake.cleanup);
const source = { kind: 'etcd' as const, etcd: { endpoints: etcd.endpoints } };

/** Stdin lines of the -R invocations logged since `mark` (an index into the stand-in's log). */
const restoresSince = (mark: number) => fake.log().slice(mark).filter((e) => e.argv[0] === '-R').map((e) => e.stdin);

await putDef(kv, def);
await putState(kv, state(all));
await putDef(kv, v6def);
await putState(kv, poolState(v6def, { 'dns1001.wikimedia.org': {}, 'dns1002.wikimedia.org': { weight: 0 } }, 1));

const a = await startTestAgent(fake, source, { services: ['eqiad/cxserver', 'eqiad/dns', 'eqiad/missing'] });
t.teardown(() => a.agent.stop());

t.test('start on an empty table creates the services, IPv6/UDP included', async (t) => {
  await a.next((r) => r.result === 'applied');
  t.same(fake.log().filter((e) => e.argv[0] === '-R').map((e) => e.stdin), [
    '-A -t 10.2.2.18:8080 -s wrr\n' +
      '-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n' +
      '-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10\n' +
      '-a -t 10.2.2.18:8080 -r 10.64.0.3 -w 10\n' +
      '-A -u [2620:0:861:ed1a::3]:53 -s sh\n' +
      '-a -u [2620:0:861:ed1a::3]:53 -r 2620:0:861:1::5 -w 10\n' +
      '-a -u [2620:0:861:ed1a::3]:53 -r 2620:0:861:1::6 -w 0\n',
  ], 'one -R with PyBal-style lines; weight 0 written as -w 0');
  const st = a.agent.status();
  t.same(st.services.find((s) => s.service === 'eqiad/missing'), { service: 'eqiad/missing', skipped: 'no service definition' },
    'a requested service with no definition is reported, not invented');
});

t.test('depool, weight change, drain, repool: one command each', async (t) => {
  const steps: [string, Record<string, Partial<EffectiveServer>>, string][] = [
    ['depool', { [H1]: {}, [H2]: { pooledAdmin: 'no' }, [H3]: {} }, '-d -t 10.2.2.18:8080 -r 10.64.0.2\n'],
    ['weight', { [H1]: {}, [H2]: { pooledAdmin: 'no' }, [H3]: { weight: 25 } }, '-e -t 10.2.2.18:8080 -r 10.64.0.3 -w 25\n'],
    ['drain', { [H1]: { weight: 0 }, [H2]: { pooledAdmin: 'no' }, [H3]: { weight: 25 } }, '-e -t 10.2.2.18:8080 -r 10.64.0.1 -w 0\n'],
    ['repool', { [H1]: { weight: 0 }, [H2]: {}, [H3]: { weight: 25 } }, '-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10\n'],
    ['health depool', { [H1]: { weight: 0 }, [H2]: {}, [H3]: { weight: 25, up: false, pooled: false } }, '-d -t 10.2.2.18:8080 -r 10.64.0.3\n'],
  ];
  for (const [name, servers, expected] of steps) {
    const mark = fake.log().length;
    const since = a.reports.length;
    await putState(kv, state(servers));
    const r = await a.next((x) => x.result === 'applied', since);
    t.equal(r.reason, 'change', `${name}: applied because of the watch event`);
    t.same(restoresSince(mark), [expected], `${name}: exactly one -R with one line`);
    t.notOk(fake.log().slice(mark).some((e) => e.argv[0] === '-R' && /-[AEDC] /.test(e.stdin)), `${name}: no service-level command`);
  }
});

t.test('an unchanged state revision with the same content applies nothing', async (t) => {
  const mark = fake.log().length;
  const since = a.reports.length;
  await putState(kv, state({ [H1]: { weight: 0 }, [H2]: {}, [H3]: { weight: 25, up: false, pooled: false } }));
  const r = await a.next(() => true, since);
  t.equal(r.result, 'noop');
  t.same(restoresSince(mark), [], 'no -R');
});

t.test('never empties a pool the admins did not empty; does when they did', async (t) => {
  let mark = fake.log().length;
  let since = a.reports.length;
  await putState(kv, state({ [H1]: { up: false, pooled: false }, [H2]: { up: false, pooled: false }, [H3]: { pooledAdmin: 'no' } }));
  const r = await a.next(() => true, since);
  t.equal(r.result, 'noop', 'nothing to apply');
  t.match(r.services.find((s) => s.service === 'eqiad/cxserver')?.skipped, /refusing to empty the pool/);
  t.same(restoresSince(mark), [], 'real servers stay in IPVS');
  t.ok(a.logs.some((l) => l.event === 'service-skipped' && /refusing to empty/.test(String(l.fields.reason))), 'logged');

  mark = fake.log().length;
  since = a.reports.length;
  await putState(kv, state({ [H1]: { pooledAdmin: 'no' }, [H2]: { pooledAdmin: 'inactive' }, [H3]: { pooledAdmin: 'no' } }));
  await a.next((x) => x.result === 'applied', since);
  t.same(restoresSince(mark), ['-d -t 10.2.2.18:8080 -r 10.64.0.1\n-d -t 10.2.2.18:8080 -r 10.64.0.2\n'],
    'admins depooled everything: the servers go, the virtual service stays');

  mark = fake.log().length;
  since = a.reports.length;
  await putState(kv, state(all));
  await a.next((x) => x.result === 'applied', since);
  t.same(restoresSince(mark), ['-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10\n-a -t 10.2.2.18:8080 -r 10.64.0.3 -w 10\n']);
});

t.test('a scheduler change is an edit of the service, not a delete and re-add', async (t) => {
  const mark = fake.log().length;
  const since = a.reports.length;
  await putDef(kv, { ...def, lvs: { ...def.lvs, scheduler: 'wlc' } });
  await a.next((x) => x.result === 'applied', since);
  t.same(restoresSince(mark), ['-E -t 10.2.2.18:8080 -s wlc\n']);
  const back = a.reports.length;
  await putDef(kv, def);
  await a.next((x) => x.result === 'applied', back);
});

t.test('a hand edit is repaired on the period', async (t) => {
  fake.run(['-e', '-t', '10.2.2.18:8080', '-r', '10.64.0.1', '-w', '99']);
  fake.run(['-a', '-t', '10.2.2.18:8080', '-r', '10.64.0.77', '-w', '1']);
  const mark = fake.log().length;
  const since = a.reports.length;
  await a.agent.reconcileNow();
  const r = await a.next((x) => x.reason === 'period', since);
  t.equal(r.result, 'applied');
  t.same(restoresSince(mark), ['-e -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n-d -t 10.2.2.18:8080 -r 10.64.0.77\n']);
});

t.test('a malformed state in etcd leaves that service alone', async (t) => {
  const mark = fake.log().length;
  const since = a.reports.length;
  await kv.txn({ compare: [], success: [{ type: 'put', key: '/poold/v1/state/eqiad/cxserver', value: '{"dc":"eqiad","name":"cxserver","pool":{"cluster":"sca","service":"cxserver"},"servers":{"x":{"pooled":"maybe"}}}' }] });
  const r = await a.next(() => true, since);
  t.match(r.services.find((s) => s.service === 'eqiad/cxserver')?.skipped, /\/poold\/v1\/state\/eqiad\/cxserver.*must be/);
  t.same(restoresSince(mark), [], 'no change to IPVS');
  await putState(kv, state(all));
  await a.next((x) => x.result === 'noop' && !x.services.some((s) => s.service === 'eqiad/cxserver' && s.skipped), since);
});

t.test('etcd down: nothing is touched, not even hand edits; back up: repaired', async (t) => {
  await etcd.stop();
  const since = a.reports.length;
  await a.agent.reconcileNow();
  const down = await a.next((x) => x.reason === 'period', since);
  t.equal(down.result, 'source-down');
  t.match(down.error, /etcd unavailable: .*; table left as it is/);
  fake.run(['-d', '-t', '10.2.2.18:8080', '-r', '10.64.0.2']);
  const mark = fake.log().length;
  await a.agent.reconcileNow();
  await a.agent.reconcileNow();
  t.same(restoresSince(mark), [], 'no -R while etcd is down');
  t.equal(fake.log().length, mark, 'not even a read of the table');
  const st = a.agent.status();
  t.equal(st.source.healthy, false);
  t.equal(st.lastReconcile?.result, 'source-down');

  await etcd.restart();
  const r = await a.next((x) => x.result === 'applied', since, 30_000);
  t.same(restoresSince(mark), ['-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10\n'], `repaired after reconnect (${r.reason})`);
});

t.test('/status and /metrics (promtool-clean)', async (t) => {
  const st = (await (await fetch(`${a.agent.url}/status`)).json()) as Record<string, unknown>;
  t.match(st, { host: 'lvs1001', dryRun: false, source: { kind: 'etcd', healthy: true }, lastReconcile: { result: /noop|applied/ } });
  t.match(st.services, [
    { service: 'eqiad/cxserver', vs: 'tcp 10.2.2.18:8080', realServers: 3 },
    { service: 'eqiad/dns', vs: 'udp [2620:0:861:ed1a::3]:53', realServers: 2 },
    { service: 'eqiad/missing', skipped: 'no service definition' },
  ]);
  t.match(a.agent.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'binds loopback by default');
  const metrics = await (await fetch(`${a.agent.url}/metrics`)).text();
  t.match(metrics, /poold_lvs_reconciles_total\{result="applied",lvs_host="lvs1001"\} \d+/);
  t.match(metrics, /poold_lvs_commands_total\{op="delete-server",lvs_host="lvs1001"\} [1-9]/);
  t.match(metrics, /poold_lvs_real_servers\{service="eqiad\/cxserver",vs="tcp 10.2.2.18:8080",lvs_host="lvs1001"\} 3/);
  t.match(metrics, /poold_lvs_source_up\{lvs_host="lvs1001"\} 1/);
  const file = join(fake.dir, 'metrics.txt');
  writeFileSync(file, metrics);
  const lint = await new Promise<{ code: number; out: string }>((resolve) => {
    const p = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    p.stdin?.end(metrics);
  });
  t.same(lint, { code: 0, out: '' }, 'promtool check metrics finds nothing');
});

t.test('restart adopts the existing table: no flush, no -D/-A, zero commands', async (t) => {
  await a.agent.stop();
  const mark = fake.log().length;
  const b = await startTestAgent(fake, source, { services: ['eqiad/cxserver', 'eqiad/dns'] });
  t.teardown(() => b.agent.stop());
  const r = await b.next(() => true);
  t.equal(r.result, 'noop');
  t.same(fake.log().slice(mark).map((e) => e.argv), [['-S', '-n']], 'only a read of the table');
});

t.test('dry run prints and applies nothing', async (t) => {
  const c = await startTestAgent(fake, source, { services: ['eqiad/cxserver'], dryRun: true });
  t.teardown(() => c.agent.stop());
  await c.next(() => true);
  const mark = fake.log().length;
  const since = c.reports.length;
  await putState(kv, state({ [H1]: {}, [H2]: { pooledAdmin: 'no' }, [H3]: {} }));
  const r = await c.next((x) => x.result === 'dry-run', since);
  t.same(r.commands, ['-d -t 10.2.2.18:8080 -r 10.64.0.2']);
  t.same(c.printed, ['-d -t 10.2.2.18:8080 -r 10.64.0.2'], 'printed once');
  t.same(restoresSince(mark), [], 'nothing applied');
});
