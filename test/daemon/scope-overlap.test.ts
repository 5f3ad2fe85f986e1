// Two pooldS with overlapping --dc scopes win different elections and would both coordinate the
// shared dc's pools: every such pool gets a CRITICAL cause in /alerts while both leaders live, and
// only those pools (scope-conflict.ts).
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { overlappingScopes, scopeName, scopeOfElection } from '../../src/daemon/scope-conflict.js';
import { poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';

t.test('scope arithmetic', async (t) => {
  t.equal(scopeName(undefined), 'all');
  t.equal(scopeName(['eqiad', 'codfw']), 'codfw+eqiad');
  t.equal(scopeOfElection('leader-codfw+eqiad'), 'codfw+eqiad');
  t.equal(scopeOfElection('leader-'), undefined);
  t.equal(scopeOfElection('other'), undefined);
  t.same(overlappingScopes('eqiad', 'all', ['all', 'eqiad', 'codfw', 'codfw+eqiad']), ['codfw+eqiad', 'eqiad']);
  t.same(overlappingScopes('codfw', 'eqiad', ['all', 'eqiad']), ['all'], 'not our pool\'s business unless it covers the dc');
  t.same(overlappingScopes('eqiad', 'eqiad', ['eqiad']), [], 'our own scope is no conflict');
});

const PORT = 8088;
const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: ['127.0.68.1', '127.0.68.2'].map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'soeq', cluster: 'soc', ip: '10.9.68.1', port: PORT, threshold: 0.5, servers: { 'so1001.eqiad.wmnet': '127.0.68.1' } })}`,
  'codfw.yaml': `dc: codfw\nservices:\n${serviceYaml({ name: 'socf', cluster: 'soc', ip: '10.9.68.2', port: PORT, threshold: 0.5, servers: { 'so2001.codfw.wmnet': '127.0.68.2' } })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);

t.test('an all-dcs leader and an eqiad leader: eqiad\'s pool alerts on both, codfw\'s does not', async (t) => {
  const all = await startDaemon(etcd.endpoints, { observer: 'so-all' });
  t.teardown(() => all.stop());
  await waitFor('so-all leads', async () => all.isLeader, (l) => l, 10_000);
  await waitFor('both pools published', () => text(`${all.url}/pools`), (b) => b.split('\n').includes('soeq_8088') && b.split('\n').includes('socf_8088'), 15_000);
  t.equal(await text(`${all.url}/alerts`), 'OK - All pools are healthy');

  const eq = await startDaemon(etcd.endpoints, { observer: 'so-eq', dcs: ['eqiad'] });
  let eqStopped = false;
  t.teardown(() => (eqStopped ? undefined : eq.stop()));
  await waitFor('so-eq leads its own scope', async () => eq.isLeader, (l) => l, 10_000);
  const msg = (ours: string, other: string) =>
    `CRITICAL - soeq_8088: configuration drift: election: leader scopes '${ours}' and '${other}' both cover dc eqiad, so two leaders coordinate this pool; give every poold of a dc the same --dc`;
  t.equal(await waitFor('overlap alert on the all-dcs instance', () => text(`${all.url}/alerts`), (b) => b !== 'OK - All pools are healthy'), msg('all', 'eqiad'));
  t.equal(await waitFor('overlap alert on the eqiad instance', () => text(`${eq.url}/alerts`), (b) => b !== 'OK - All pools are healthy'), msg('eqiad', 'all'));

  eqStopped = true;
  await eq.stop(); // resigns: its election key goes at once
  t.equal(await waitFor('alert cleared', () => text(`${all.url}/alerts`), (b) => b === 'OK - All pools are healthy'), 'OK - All pools are healthy');
});

t.test('scopesOverlap: only scopes sharing a dc (or all) overlap', async (t) => {
  const { scopesOverlap } = await import('../../src/daemon/scope-conflict.js');
  t.equal(scopesOverlap('eqiad', 'codfw'), false, 'one poold per dc is the normal setup, not a conflict');
  t.equal(scopesOverlap('eqiad', 'all'), true);
  t.equal(scopesOverlap('codfw+eqiad', 'eqiad'), true);
  t.equal(scopesOverlap('codfw+eqiad', 'esams'), false);
});
