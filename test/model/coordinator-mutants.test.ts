// Behaviour that mutation testing (npm run test:mutation, test/model/MUTATION.md) showed the other model tests
// would not notice if it broke. Each test names the broken variant it rules out, and asserts what an
// operator would see: the effective pooled set, /alerts, the counters.
import t from 'tap';
import { applyEvent, applyEvents, canDepool, createCoordinator, effectiveState, NOT_REGISTERED_REASON } from '../../src/model/coordinator.js';
import { CoordinatorInputError, type CoordinatorEffect } from '../../src/model/coordinator-types.js';
import { alertsText, computeAlerts, flappingCause } from '../../src/model/alerts.js';
import type { Finding } from '../../src/model/types.js';
import { adminAll, down, hostNames, kinds, pooledHosts, run, service, startPool, up, yes } from './coordinator-fixtures.js';

/** The writer named by a force marker: the operator forced this depool below the threshold. */
const OP = { actor: 'alice', reason: 'test' };

const [A, B, C, D] = hostNames(4);

function alerts(tr: { state: Parameters<typeof effectiveState>[0] }): string {
  return alertsText(computeAlerts([effectiveState(tr.state)]));
}

function unmet(effects: readonly CoordinatorEffect[]) {
  return effects.filter((e) => e.kind === 'thresholdUnmet');
}

t.test('a config change that only changes the threshold takes effect (not dropped as "nothing changed")', async (t) => {
  const start = startPool([A, B, C, D], 0.5);
  const tr = applyEvent(start.state, { type: 'configChanged', service: service([A, B, C, D], 0.75), at: 5 });
  t.same(tr.effects, [{ kind: 'thresholdChanged', from: 0.5, to: 0.75 }]);
  t.equal(tr.state.depoolThreshold, 0.75);
  t.equal(effectiveState(tr.state).depoolThreshold, 0.75, 'the published state carries the new threshold');
  t.equal(tr.state.revision, start.state.revision + 1);
  t.equal(tr.state.updatedAt, 5);
  // 4 at .75 needs 3 up: the second down server is now kept pooled (at .5 it would have left).
  const after = run(tr.state, [down(A, 6), down(B, 7)]);
  t.same(pooledHosts(after.state), [B, C, D]);
  t.same(after.state.pooledDown, [B]);
  t.equal(alerts(after), `CRITICAL - cxserver: Servers ${B} are marked down but pooled`);
  // The same servers and the same threshold: nothing at all changes.
  const same = applyEvent(start.state, { type: 'configChanged', service: service([A, B, C, D], 0.5), at: 5 });
  t.same(same.effects, []);
  t.equal(same.state, start.state, 'an unchanged config returns the very same state');
});

t.test('a threshold raised by config pools down servers again at once, and lowering it releases them', async (t) => {
  const tr = run(startPool([A, B, C, D], 0.25).state, [down(A, 1), down(B, 2), down(C, 3)]);
  t.same(pooledHosts(tr.state), [D], '4 at .25 needs 1: three down servers leave');
  const raised = applyEvent(tr.state, { type: 'configChanged', service: service([A, B, C, D], 0.75), at: 4 });
  t.same(kinds(raised.effects), ['thresholdChanged', `forcePooled ${A}`, `forcePooled ${B}`, 'alert']);
  t.same(pooledHosts(raised.state), [A, B, D]);
  t.same(raised.state.pooledDown, [A, B]);
  t.equal(raised.state.counters.forcePooled, 2);
  const lowered = applyEvent(raised.state, { type: 'configChanged', service: service([A, B, C, D], 0.25), at: 5 });
  t.same(kinds(lowered.effects), ['thresholdChanged', `depooled ${A}`, `depooled ${B}`, 'alert']);
  t.same(pooledHosts(lowered.state), [D]);
  t.equal(alerts(lowered), 'OK - All pools are healthy');
});

t.test('thresholds outside [0, 1] are refused everywhere the coordinator takes one; 0 and 1 are valid', async (t) => {
  for (const bad of [-0.1, -1, 1.01, 2, Number.NaN, Infinity]) {
    t.throws(() => startPool([A, B], bad), CoordinatorInputError, `start with ${bad}`);
    const tr = startPool([A, B], 0.5);
    t.throws(
      () => applyEvent(tr.state, { type: 'configChanged', service: service([A, B], bad), at: 1 }),
      CoordinatorInputError,
      `config change to ${bad}`,
    );
  }
  t.throws(() => startPool([A, B], -0.1), { message: /depool threshold must be in \[0, 1\], got -0\.1/ });
  t.throws(() => startPool([A, B], '0.5' as unknown as number), { message: /must be a number in \[0, 1\], got 0\.5/ });
  // Boundaries: 0 lets every down server leave; 1 keeps all of them.
  t.same(pooledHosts(run(startPool([A, B], 0).state, [down(A), down(B)]).state), []);
  t.same(pooledHosts(run(startPool([A, B], 1).state, [down(A), down(B)]).state), [A, B]);
});

t.test('deleting the conftool entry of a host still in the definition takes it out of the pool', async (t) => {
  let tr = startPool([A, B, C], 0);
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: null, at: 3 });
  t.same(kinds(tr.effects), [`adminChanged ${A}`, `depooled ${A}`]);
  t.match(tr.effects[1], { cause: 'admin' });
  t.same(pooledHosts(tr.state), [B, C]);
  const a = effectiveState(tr.state).servers[A];
  t.match(a, { pooledAdmin: 'inactive', enabled: false, pooled: false, reason: NOT_REGISTERED_REASON });
  t.equal(tr.state.revision, 2);
  // It no longer counts: 2 members at 1.0 keep both down servers.
  tr = applyEvent(tr.state, { type: 'configChanged', service: service([A, B, C], 1), at: 4 });
  tr = run(tr.state, [down(B, 5), down(C, 6)]);
  t.same(tr.state.pooledDown, [B, C]);
  t.equal(alerts(tr), `CRITICAL - cxserver: Servers ${B}, ${C} are marked down but pooled`);
  // A checked host keeps its health reason when its entry goes.
  let ck = run(startPool([A, B], 0).state, [down(A, 1, 'connection refused')]);
  ck = applyEvent(ck.state, { type: 'adminChanged', host: A, value: null, at: 2 });
  t.match(effectiveState(ck.state).servers[A], { pooledAdmin: 'inactive', up: false, reason: 'connection refused' });
  // Deleting it again, or deleting an unknown host, is ignored and changes nothing.
  const again = applyEvent(ck.state, { type: 'adminChanged', host: A, value: null, at: 3 });
  t.same(kinds(again.effects), [`ignored ${A}`]);
  t.equal(again.state, ck.state);
});

t.test('deleting the conftool entry of a host no longer defined removes it entirely', async (t) => {
  let tr = createCoordinator({ at: 0, service: service([A, B], 0), admin: adminAll([A, B, C]) });
  t.same(pooledHosts(tr.state), [A, B, C], 'conftool membership: C is pooled without a definition');
  tr = applyEvent(tr.state, { type: 'adminChanged', host: C, value: null, at: 1 });
  t.same(kinds(tr.effects), [`depooled ${C}`, `serverRemoved ${C}`]);
  t.same(Object.keys(effectiveState(tr.state).servers), [A, B]);
});

t.test('a re-registered host is enabled again; an unchanged admin write changes nothing', async (t) => {
  let tr = startPool([A, B], 0);
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: null, at: 1 });
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: yes(10), at: 2 });
  t.same(kinds(tr.effects), [`adminChanged ${A}`, `repooled ${A}`]);
  t.same(pooledHosts(tr.state), [A, B]);
  t.match(effectiveState(tr.state).servers[A], { pooledAdmin: 'yes', enabled: true });
  const same = applyEvent(tr.state, { type: 'adminChanged', host: A, value: yes(10), at: 3 });
  t.same(same.effects, []);
  t.equal(same.state, tr.state);
  const w = applyEvent(tr.state, { type: 'adminChanged', host: A, value: yes(3), at: 4 });
  t.same(w.effects, [{ kind: 'weightChanged', host: A, from: 10, to: 3 }]);
  t.equal(effectiveState(w.state).servers[A].weight, 3);
});

t.test('a health event that only changes flapping, the reason or the findings is applied', async (t) => {
  let tr = run(startPool([A, B], 0.5).state, [up(A, 1, 'ok'), up(B, 1, 'ok')]);
  const rev = tr.state.revision;
  tr = applyEvent(tr.state, { type: 'healthChanged', host: A, up: true, reason: 'ok', at: 2, flapping: true });
  t.equal(tr.state.revision, rev + 1, 'flapping alone is a change');
  const st = effectiveState(tr.state);
  t.equal(st.servers[A].flapping, true);
  t.same(flappingCause(st), { pool: 'cxserver', severity: 'critical', message: `Servers ${A} are flapping` });
  t.equal(alertsText(computeAlerts([st], [flappingCause(st)!])), `CRITICAL - cxserver: Servers ${A} are flapping`);

  tr = applyEvent(tr.state, { type: 'healthChanged', host: A, up: true, reason: 'ok', at: 3, flapping: false });
  t.equal(effectiveState(tr.state).servers[A].flapping, false, 'and so is its end');
  t.equal(flappingCause(effectiveState(tr.state)), null);

  tr = applyEvent(tr.state, { type: 'healthChanged', host: B, up: true, reason: 'ok (slow: 900ms)', at: 4 });
  t.equal(effectiveState(tr.state).servers[B].reason, 'ok (slow: 900ms)', 'a new reason alone is published');
  t.equal(tr.state.revision, rev + 3);

  const finding: Finding = { severity: 'warning', code: 'tls_error', message: 'certificate expires in 5 days' };
  tr = applyEvent(tr.state, { type: 'healthChanged', host: B, up: true, reason: 'ok (slow: 900ms)', at: 5, findings: [finding] });
  t.same(effectiveState(tr.state).servers[B].findings, [finding], 'new findings alone are published');
  t.equal(tr.state.revision, rev + 4);

  // The very same result again is not a change: same state object, no effects, no revision.
  const same = applyEvent(tr.state, { type: 'healthChanged', host: B, up: true, reason: 'ok (slow: 900ms)', at: 6, findings: [finding] });
  t.equal(same.state, tr.state);
  t.same(same.effects, []);
});

t.test('the first health result of an unchecked server is recorded even when it agrees with the assumption', async (t) => {
  const tr = applyEvent(startPool([A, B], 0.5).state, up(A, 7, 'ok'));
  t.equal(tr.state.servers.get(A)!.checked, true);
  t.equal(effectiveState(tr.state).servers[A].reason, 'ok');
  t.equal(tr.state.revision, 2);
  t.equal(tr.state.updatedAt, 7);
});

t.test('health since: set by the first result and by transitions, kept by repeated results', async (t) => {
  let tr = applyEvent(startPool([A, B], 0).state, up(A, 5, 'ok'));
  t.equal(tr.state.servers.get(A)!.since, 5, 'first result');
  tr = applyEvent(tr.state, up(A, 9, 'ok, fast'));
  t.equal(tr.state.servers.get(A)!.since, 5, 'still up');
  tr = applyEvent(tr.state, down(A, 12));
  t.equal(tr.state.servers.get(A)!.since, 12, 'went down');
});

t.test('thresholdUnmet is reported when a running pool falls below, and again only when its numbers move', async (t) => {
  // Depools below the threshold are forced (poolctl --force): unforced, the daemon holds them
  // (coordinator-hold.ts), and this is about the report, not the hold.
  let tr = startPool([A, B, C, D], 0.75);
  t.same(unmet(tr.effects), [], 'a full pool is fine');
  // Disabling two of four leaves 2 enabled; 4 × .75 needs 3.
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: 10, pooled: 'no' }, at: 1 });
  t.same(unmet(tr.effects), [], '3 enabled still meet 3');
  tr = applyEvent(tr.state, { type: 'adminChanged', host: B, value: { weight: 10, pooled: 'no' }, at: 2, force: OP });
  t.same(unmet(tr.effects), [{ kind: 'thresholdUnmet', enabled: 2, upEnabled: 2, total: 4, threshold: 0.75, required: 3, pooled: 2 }]);
  t.same(pooledHosts(tr.state), [C, D]);
  // A health result that moves nothing does not repeat it.
  tr = applyEvent(tr.state, up(C, 3, 'ok'));
  t.same(tr.effects.map((e) => e.kind), [], 'the numbers did not move');
  // C going down changes upEnabled only: it stays pooled (kept), and the unmet numbers are unchanged.
  tr = applyEvent(tr.state, down(C, 4));
  t.same(kinds(tr.effects), [`health ${C}`, `keptPooled ${C}`, 'alert']);
  // Disabling C moves enabled and pooled: reported again with the new numbers.
  tr = applyEvent(tr.state, { type: 'adminChanged', host: C, value: { weight: 10, pooled: 'no' }, at: 5, force: OP });
  t.match(unmet(tr.effects), [{ enabled: 1, pooled: 1, required: 3 }]);
  // Re-enabling A and B: met again, nothing reported.
  tr = applyEvents(tr.state, [
    { type: 'adminChanged', host: A, value: yes(), at: 6 },
    { type: 'adminChanged', host: B, value: yes(), at: 6 },
  ]);
  t.same(unmet(tr.effects).map((e) => e.enabled), [2], 'only the first of the two events was still unmet');
  t.same(pooledHosts(tr.state), [A, B, D], 'C stays disabled');
});

t.test('canDepool of the published state follows the threshold line exactly', async (t) => {
  // 3 at .5 needs ceil(1.5) = 2 up.
  let tr = startPool([A, B, C], 0.5);
  t.equal(canDepool(tr.state), true);
  tr = applyEvent(tr.state, down(A));
  t.equal(canDepool(tr.state), true, '2 up meet 2');
  tr = applyEvent(tr.state, down(B));
  t.equal(canDepool(tr.state), false, '1 up is below 2');
  t.same(pooledHosts(tr.state), [B, C]);
});

t.test('a restart keeps the previous health, pooled set and revision; a previous state of another pool is ignored', async (t) => {
  const before = run(startPool([A, B, C, D], 0.5).state, [down(A, 1, 'refused'), down(B, 2, 'timeout'), down(C, 3, 'reset')]);
  t.same(before.state.pooledDown, [C]);
  const previous = effectiveState(before.state);
  const restarted = createCoordinator({ at: 100, service: service([A, B, C, D], 0.5), admin: adminAll([A, B, C, D]), previous });
  t.same(pooledHosts(restarted.state), [C, D]);
  t.same(restarted.state.pooledDown, [C]);
  t.equal(restarted.state.revision, previous.revision + 1);
  t.match(effectiveState(restarted.state).servers[A], { up: false, reason: 'refused', pooled: false });
  t.equal(restarted.state.servers.get(A)!.checked, true);
  t.equal(restarted.state.servers.get(A)!.since, previous.updatedAt);
  t.same(kinds(restarted.effects), [], 'nothing changed across the restart');
  t.same(restarted.state.counters, { couldNotDepool: 0, forcePooled: 0, depooled: 0, repooled: 0 });

  const otherPool = { ...previous, pool: { cluster: 'other', service: 'cxserver' } };
  const fresh = createCoordinator({ at: 100, service: service([A, B, C, D], 0.5), admin: adminAll([A, B, C, D]), previous: otherPool });
  t.same(pooledHosts(fresh.state), [A, B, C, D], 'health of another pool is not reused');
  t.equal(fresh.state.revision, 1);

  const otherName = { ...previous, name: 'other' };
  t.throws(
    () => createCoordinator({ at: 100, service: service([A, B, C, D], 0.5), admin: adminAll([A, B, C, D]), previous: otherName }),
    CoordinatorInputError,
  );
});

t.test('a restart whose previous state lacks a host, or whose host was unchecked, assumes it up', async (t) => {
  const prev = effectiveState(startPool([A, B], 0.5).state);
  const tr = createCoordinator({ at: 50, service: service([A, B, C], 0.5), admin: adminAll([A, B, C]), previous: prev });
  t.same(pooledHosts(tr.state), [A, B, C]);
  t.equal(tr.state.servers.get(A)!.checked, false, 'assumed up before the restart stays unchecked');
  t.same(kinds(tr.effects), [`serverAdded ${C}`, `repooled ${C}`]);
});

t.test('a config change keeps admin weights of registered hosts and adopts definition weights of unregistered ones', async (t) => {
  let tr = createCoordinator({ at: 0, service: service([A, B], 0), admin: { [A]: yes(7) } });
  t.equal(effectiveState(tr.state).servers[B].weight, 10);
  tr = applyEvent(tr.state, { type: 'configChanged', service: service([A, B, C], 0, 20), at: 1 });
  const st = effectiveState(tr.state);
  t.equal(st.servers[A].weight, 7, 'conftool wins for a registered host');
  t.equal(st.servers[B].weight, 20, 'the definition for one not in conftool');
  t.match(st.servers[C], { weight: 20, pooledAdmin: 'inactive', pooled: false, reason: NOT_REGISTERED_REASON });
  t.same(pooledHosts(tr.state), [A]);
  // Dropping B and C from the definition: neither in conftool, so both go.
  tr = applyEvent(tr.state, { type: 'configChanged', service: service([A], 0), at: 2 });
  t.same(Object.keys(effectiveState(tr.state).servers), [A]);
  t.same(kinds(tr.effects), [`serverRemoved ${B}`, `serverRemoved ${C}`]);
});

t.test('events for another LVS service or pool are refused', async (t) => {
  const tr = startPool([A, B], 0.5);
  const other = { ...service([A, B], 0.5), name: 'citoid' };
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: other, at: 1 }), CoordinatorInputError);
  const otherDc = { ...service([A, B], 0.5), dc: 'codfw' };
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: otherDc, at: 1 }), CoordinatorInputError);
  const otherPool = { ...service([A, B], 0.5), pool: { cluster: 'sca', service: 'other' } };
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: otherPool, at: 1 }), { message: /rebuild it/ });
  const otherCluster = { ...service([A, B], 0.5), pool: { cluster: 'k8s', service: 'cxserver' } };
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: otherCluster, at: 1 }), CoordinatorInputError);
});

t.test('bad conftool values are refused with the host named', async (t) => {
  const tr = startPool([A, B], 0.5);
  for (const value of [{ weight: -1, pooled: 'yes' }, { weight: Number.NaN, pooled: 'yes' }, { weight: '1', pooled: 'yes' }, { weight: 1, pooled: 'maybe' }]) {
    t.throws(
      () => applyEvent(tr.state, { type: 'adminChanged', host: A, value: value as never, at: 1 }),
      { name: 'CoordinatorInputError', message: new RegExp(A.replace(/\./g, '\\.')) },
      JSON.stringify(value),
    );
  }
  t.throws(() => createCoordinator({ at: 0, service: service([A], 0.5), admin: { [A]: null as never } }), CoordinatorInputError);
  t.throws(() => createCoordinator({ at: 0, service: service([A], 0.5), admin: { [A]: 'yes' as never } }), CoordinatorInputError);
  // Weight 0 (drain) is valid.
  const drained = applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: 0, pooled: 'yes' }, at: 1 });
  t.equal(effectiveState(drained.state).servers[A].weight, 0);
  t.same(pooledHosts(drained.state), [A, B]);
});

t.test('force-pooling picks by host name, also for a host added earlier in the same batch', async (t) => {
  const [A0, B0, C0, D0] = ['a.eqiad.wmnet', 'b.eqiad.wmnet', 'c.eqiad.wmnet', 'd.eqiad.wmnet'];
  const start = createCoordinator({ at: 0, service: service([B0, C0, D0], 0.5), admin: adminAll([B0, C0, D0]) });
  const tr = applyEvents(start.state, [
    { type: 'adminChanged', host: A0, value: yes(), at: 1 }, // a new conftool entry, first by name
    down(A0, 2), // 4 members, 3 up: A leaves
    down(B0, 3), // 2 up meet 2: B leaves
    { type: 'adminChanged', host: C0, value: { weight: 10, pooled: 'no' }, at: 4, force: OP }, // 1 up: one down server must come back
  ]);
  t.same(pooledHosts(tr.state), [A0, D0], 'A, not B: the first by name');
  t.same(tr.state.pooledDown, [A0]);
  t.same([...tr.state.servers.keys()], [A0, B0, C0, D0], 'the published order is by name');
  // Applying the same events one by one gives the same pool.
  const oneByOne = run(start.state, [
    { type: 'adminChanged', host: A0, value: yes(), at: 1 },
    down(A0, 2),
    down(B0, 3),
    { type: 'adminChanged', host: C0, value: { weight: 10, pooled: 'no' }, at: 4, force: OP },
  ]);
  t.same(effectiveState(oneByOne.state), effectiveState(tr.state));
});

t.test('hosts named like Object properties are ordinary hosts', async (t) => {
  const hosts = ['constructor', 'toString', 'valueOf'];
  // Only toString has a conftool entry; the others are defined but not registered.
  const tr = createCoordinator({ at: 0, service: service(hosts, 0.5), admin: { toString: yes(3) } });
  const st = effectiveState(tr.state);
  t.match(st.servers.constructor, { pooledAdmin: 'inactive', pooled: false, weight: 10, reason: NOT_REGISTERED_REASON });
  t.match(st.servers.toString, { pooledAdmin: 'yes', pooled: true, weight: 3 });
  t.same(pooledHosts(tr.state), ['toString']);
  // Health given at start for an unregistered host is kept; a health map without the host does not invent one.
  const withHealth = createCoordinator({
    at: 0,
    service: service(hosts, 0.5),
    admin: { toString: yes(3), valueOf: yes(3) },
    health: { valueOf: { up: false, reason: 'refused', at: 0 } },
  });
  t.match(effectiveState(withHealth.state).servers.valueOf, { up: false, reason: 'refused' });
  t.match(effectiveState(withHealth.state).servers.toString, { up: true, reason: 'no health result yet (assumed up)' });
});

t.test('errors name what was wrong and carry it as context', async (t) => {
  const tr = startPool([A, B], 0.5);
  t.equal(NOT_REGISTERED_REASON, 'not in conftool');
  t.throws(() => startPool([A], 7), { name: 'CoordinatorInputError', context: { threshold: 7 } });
  t.throws(() => applyEvent(tr.state, { type: 'adminChanged', host: A, value: 'yes' as never, at: 1 }), {
    message: `admin change in eqiad/cxserver: conftool value of ${A} must be an object`,
    context: { host: A, value: 'yes' },
  });
  t.throws(() => applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: 1, pooled: 'maybe' } as never, at: 1 }), {
    message: `admin change in eqiad/cxserver: conftool value of ${A} has pooled="maybe"; expected one of yes, no, inactive`,
    context: { host: A, value: { weight: 1, pooled: 'maybe' } },
  });
  t.throws(() => applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: -1, pooled: 'yes' }, at: 1 }), { name: 'CoordinatorInputError',
    context: { host: A, value: { weight: -1, pooled: 'yes' } },
  });
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: { ...service([A, B], 0.5), name: 'citoid' }, at: 1 }), { name: 'CoordinatorInputError',
    context: { expected: 'eqiad/cxserver', got: 'eqiad/citoid' },
  });
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: { ...service([A, B], 0.5), pool: { cluster: 'k8s', service: 'x' } }, at: 1 }), { name: 'CoordinatorInputError',
    context: { expected: { cluster: 'sca', service: 'cxserver' }, got: { cluster: 'k8s', service: 'x' } },
  });
  t.throws(() => applyEvent(tr.state, { type: 'bogus', at: 1 } as never), { name: 'CoordinatorInputError', message: /unknown coordinator event/ });
  const ignored = applyEvent(tr.state, { type: 'adminChanged', host: 'nope', value: null, at: 1 });
  t.same(ignored.effects, [{ kind: 'ignored', host: 'nope', reason: 'conftool entry of nope deleted, but it was not known' }]);
});

t.test('a health change of up alone (same reason text) is applied', async (t) => {
  let tr = applyEvent(startPool([A, B], 0).state, down(A, 1, 'checking'));
  t.same(pooledHosts(tr.state), [B]);
  tr = applyEvent(tr.state, up(A, 2, 'checking'));
  t.same(pooledHosts(tr.state), [A, B], 'repooled although the reason text did not change');
});

t.test('start: hosts in any input order are tracked by name; a previous state without a pool is not reused', async (t) => {
  const tr = createCoordinator({ at: 0, service: service([D, B], 1), admin: adminAll([C, A]) });
  t.same([...tr.state.servers.keys()], [A, B, C, D]);
  t.same(Object.keys(effectiveState(tr.state).servers), [A, B, C, D]);
  const prev = effectiveState(run(startPool([A, B], 0).state, [down(A)]).state);
  const { pool: _pool, ...noPool } = prev;
  const fresh = createCoordinator({ at: 9, service: service([A, B], 0), admin: adminAll([A, B]), previous: noPool as never });
  t.same(pooledHosts(fresh.state), [A, B], 'health of a state from before pools is not reused');
});

t.test('a config change keeps the health of a defined host that is not in conftool', async (t) => {
  const tr = createCoordinator({ at: 0, service: service([A, B], 0), admin: adminAll([A]), health: { [B]: { up: false, reason: 'refused', at: 0 } } });
  t.match(effectiveState(tr.state).servers[B], { up: false, reason: 'refused', pooledAdmin: 'inactive' });
  const after = applyEvent(tr.state, { type: 'configChanged', service: service([A, B], 0.5), at: 3 });
  t.match(effectiveState(after.state).servers[B], { up: false, reason: 'refused', pooledAdmin: 'inactive' });
  t.equal(after.state.servers.get(B)!.since, 0);
});
