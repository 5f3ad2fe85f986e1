// Every write path leaves an audit record (who, what key, before, after, why, when), written in the
// same etcd revision as the change: pool, depool, drain, weight, decommission, select, sync, rolling.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { poolsDir, startDaemon, waitFor } from '../daemon/harness.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { publishedState } from '../helpers/published.js';

const PORT = 18159;
const addr = (n: number) => `127.59.0.${n}`;
const host = (n: number) => `mw10${n}.eqiad.wmnet`;
const KEY = (n: number) => `/conftool/v1/pools/eqiad/appserver/appservers/${host(n)}`;
const pools = (hosts: number[]) => `dc: eqiad
services:
  appservers:
    cluster: appserver
    lvs: { ip: 10.2.1.1, port: ${PORT} }
    depool_threshold: 0.3
    checks: [{ kind: http, path: /_info, timeout: 500ms, interval: 200ms, rise: 1, fall: 1 }]
    servers:
${hosts.map((n) => `      ${host(n)}: { weight: 10, address: ${addr(n)} }`).join('\n')}
`;

interface Rec { actor: string; reason: string; key: string; before: unknown; after: unknown; time: string; revision: number }

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const env = { POOLD_ETCD: etcd.clientUrl, SUDO_USER: 'alice' };
const sim = await startSimulator({ backends: [1, 2, 3, 4, 5].map((n) => ({ address: addr(n), port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const dir = poolsDir({ 'eqiad.yaml': pools([1, 2, 3, 4]) });

async function audit(reason: string): Promise<Rec[]> {
  const r = await runPoolctl(['audit', '--limit', '500', '--json'], env);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as Rec[]).filter((a) => a.reason === reason);
}

async function write(args: string[]): Promise<void> {
  const r = await runPoolctl(args, env, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`poolctl ${args.join(' ')}: ${r.code} ${r.stderr}`);
}

t.test('sync: one record per created host, actor from SUDO_USER', async (t) => {
  await write(['sync', dir, '--reason', 'a:sync']);
  const recs = await audit('a:sync');
  t.same(recs.filter((r) => r.key.startsWith('/conftool/')).map((r) => r.key).sort(), [1, 2, 3, 4].map(KEY));
  t.ok(recs.every((r) => r.actor === 'alice'), 'SUDO_USER is the actor');
  t.same(recs.find((r) => r.key === KEY(1))!.before, null, 'before: absent');
});

const verbs: [string, string[], number, Record<string, unknown>][] = [
  ['depool', ['depool', host(1)], 1, { weight: 10, pooled: 'no' }],
  ['pool', ['pool', host(1)], 1, { weight: 10, pooled: 'yes' }],
  ['drain', ['drain', host(2)], 2, { weight: 0, pooled: 'yes' }],
  ['weight', ['weight', host(2), '7'], 2, { weight: 7, pooled: 'yes' }],
  ['decommission', ['decommission', host(3)], 3, { weight: 10, pooled: 'inactive' }],
];
for (const [name, args, n, after] of verbs) {
  t.test(`${name}: one record with before and after, same revision as the change`, async (t) => {
    const before = JSON.parse((await kv.get(KEY(n)))!.value);
    await write([...args, '--reason', `a:${name}`]);
    const recs = await audit(`a:${name}`);
    t.equal(recs.length, 1);
    t.match(recs[0], { actor: 'alice', key: KEY(n), before, after });
    t.equal(recs[0].revision, (await kv.get(KEY(n)))!.modRevision, 'the record and the change share one etcd revision');
  });
}

t.test('select: one record per matched host', async (t) => {
  await write(['select', 'name=mw10[14].*', 'set/weight=3', '--yes', '--reason', 'a:select']);
  const recs = await audit('a:select');
  t.same(recs.map((r) => r.key).sort(), [KEY(1), KEY(4)]);
  t.ok(recs.every((r) => (r.after as { weight: number }).weight === 3));
});

t.test('sync with a service change and a removed host: records for both', async (t) => {
  writeFileSync(join(dir, 'eqiad.yaml'), pools([1, 2, 3, 5]).replace('depool_threshold: 0.3', 'depool_threshold: 0.25'));
  await write(['sync', dir, '--reason', 'a:sync2']);
  const recs = await audit('a:sync2');
  const keys = recs.map((r) => r.key);
  t.ok(keys.includes(KEY(4)), 'the removed host');
  t.same(recs.find((r) => r.key === KEY(4))!.after, null, 'after: deleted');
  t.ok(keys.includes(KEY(5)), 'the new host');
  t.ok(keys.includes(`/poold/v1/services/eqiad/appservers_${PORT}`), 'the service definition');
});

t.test('rolling: a depool and a repool record per host', async (t) => {
  const daemon = await startDaemon(etcd.endpoints, { observer: 'audit-poold' });
  t.teardown(() => daemon.stop());
  await waitFor('poold serving', () => publishedState(kv, `eqiad/appservers_${PORT}`),
    (s) => s !== undefined && Object.values(s.servers).filter((v) => v.up && v.pooledAdmin === 'yes').length === 3, 15_000);
  await write(['rolling', 'appservers', '--hosts', `${host(1)},${host(5)}`, '--command', '/bin/true', '--yes', '--reason', 'a:rolling',
    '--health-timeout', '5s', '--state-timeout', '10s']);
  const recs = (await audit('a:rolling')).reverse();
  t.same(recs.map((r) => `${r.key} ${(r.after as { pooled: string }).pooled}`), [`${KEY(1)} no`, `${KEY(1)} yes`, `${KEY(5)} no`, `${KEY(5)} yes`]);
  t.ok(recs.every((r) => r.actor === 'alice'));
});

t.test('a write that changes nothing writes no record', async (t) => {
  await write(['weight', host(2), '7', '--reason', 'a:noop']);
  t.same(await audit('a:noop'), []);
});
