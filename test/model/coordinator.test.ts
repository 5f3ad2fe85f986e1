// PyBal's own coordinator scenarios (pybal/test/test_coordinator.py), restated against poold's model,
// plus the cases PyBal got wrong (T184715) or left implicit.
import t from 'tap';
import { applyEvent, canDepool, createCoordinator, effectiveState, ASSUMED_UP_REASON } from '../../src/model/coordinator.js';
import { CoordinatorInputError } from '../../src/model/coordinator-types.js';
import { computeAlerts, alertsText } from '../../src/model/alerts.js';
import { adminAll, down, hostNames, kinds, pooledHosts, run, service, startPool, up, yes, KEY } from './coordinator-fixtures.js';

const [A, B, C, D] = hostNames(4);

t.test('start without health: every enabled server is assumed up and pooled (PyBal DEF_STATE)', async (t) => {
  const { state, effects } = startPool([A, B, C, D], 0.5);
  t.same(pooledHosts(state), [A, B, C, D]);
  t.same(state.pooledDown, []);
  t.equal(state.servers.get(A)!.reason, ASSUMED_UP_REASON);
  t.equal(state.servers.get(A)!.checked, false);
  t.same(kinds(effects), [`repooled ${A}`, `repooled ${B}`, `repooled ${C}`, `repooled ${D}`]);
  t.equal(state.revision, 1);
  t.same(state.counters, { couldNotDepool: 0, forcePooled: 0, depooled: 0, repooled: 4 });
});

t.test('2 servers at .5: the first down is depooled, the second is kept pooled', async (t) => {
  let tr = startPool([A, B], 0.5);
  t.ok(canDepool(tr.state), '2/2 up: can depool');
  tr = applyEvent(tr.state, down(A));
  t.same(kinds(tr.effects), [`health ${A}`, `depooled ${A}`]);
  t.same(pooledHosts(tr.state), [B]);
  t.ok(canDepool(tr.state), '1/2 up still meets 2 × .5');
  tr = applyEvent(tr.state, down(B));
  t.notOk(canDepool(tr.state), '0/2 up');
  t.same(pooledHosts(tr.state), [B]);
  t.same(tr.state.pooledDown, [B]);
  t.same(kinds(tr.effects), [`health ${B}`, `keptPooled ${B}`, 'alert']);
  const kept = tr.effects[1];
  t.match(kept, { kind: 'keptPooled', reason: 'couldNotDepool', upEnabled: 0, total: 2, threshold: 0.5, required: 1, pooled: 1 });
  t.same(tr.effects[2], {
    kind: 'alert',
    from: { status: 'ok', message: '' },
    to: { status: 'critical', message: `cxserver: Servers ${B} are marked down but pooled` },
  });
  t.equal(tr.state.counters.couldNotDepool, 1);
});

t.test('4 servers at .5 losing backends one by one, then recovering', async (t) => {
  let tr = startPool([A, B, C, D], 0.5);
  tr = applyEvent(tr.state, down(A, 1));
  t.same(kinds(tr.effects), [`health ${A}`, `depooled ${A}`]);
  tr = applyEvent(tr.state, down(B, 2));
  t.same(kinds(tr.effects), [`health ${B}`, `depooled ${B}`], '2 of 4 up still meets 4 × .5');
  tr = applyEvent(tr.state, down(C, 3));
  t.same(kinds(tr.effects), [`health ${C}`, `keptPooled ${C}`, 'alert'], 'the third is kept pooled');
  t.same(pooledHosts(tr.state), [C, D]);
  t.same(tr.state.pooledDown, [C]);
  t.equal(
    alertsText(computeAlerts([effectiveState(tr.state)])),
    'CRITICAL - cxserver: Servers cp1047.eqiad.wmnet are marked down but pooled',
  );
  tr = applyEvent(tr.state, down(D, 4));
  t.same(tr.state.pooledDown, [C, D]);
  t.equal(
    alertsText(computeAlerts([effectiveState(tr.state)])),
    'CRITICAL - cxserver: Servers cp1047.eqiad.wmnet, cp1048.eqiad.wmnet are marked down but pooled',
  );

  // Recovery of A: A is repooled; upEnabled is 1 < 2, so C and D stay.
  tr = applyEvent(tr.state, up(A, 5));
  t.same(kinds(tr.effects), [`health ${A}`, `repooled ${A}`]);
  t.same(tr.state.pooledDown, [C, D]);
  // Recovery of B: 2 of 4 up meets the threshold, so both kept servers are depooled, in name order.
  tr = applyEvent(tr.state, up(B, 6));
  t.same(kinds(tr.effects), [`health ${B}`, `repooled ${B}`, `depooled ${C}`, `depooled ${D}`, 'alert']);
  t.same(pooledHosts(tr.state), [A, B]);
  t.same(tr.state.pooledDown, []);
  t.equal(alertsText(computeAlerts([effectiveState(tr.state)])), 'OK - All pools are healthy');
  t.same(tr.state.counters, { couldNotDepool: 2, forcePooled: 0, depooled: 4, repooled: 6 });
});

t.test('4 servers at .5 with one disabled (PyBal test4serversCanDepool)', async (t) => {
  let tr = startPool([A, B, C, D], 0.5);
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: 10, pooled: 'no' }, at: 1 });
  t.same(kinds(tr.effects), [`adminChanged ${A}`, `depooled ${A}`]);
  t.equal(tr.effects[1].kind === 'depooled' && tr.effects[1].cause, 'admin');
  tr = applyEvent(tr.state, down(B));
  t.same(pooledHosts(tr.state), [C, D], '2/4 serving: can depool');
  tr = applyEvent(tr.state, down(C));
  t.same(pooledHosts(tr.state), [C, D], '1/4 would be below 2: C kept');
  t.same(tr.state.pooledDown, [C]);
});

t.test('repooling a previously pooled-but-down server (PyBal testRepoolPreviouslyPooledButDown)', async (t) => {
  let tr = startPool([A, B], 0.5);
  tr = run(tr.state, [down(A), down(B)]);
  t.same(tr.state.pooledDown, [B]);
  t.same(pooledHosts(tr.state), [B]);
  // B comes back: it was pooled all along, so it is not "repooled", it just stops being pooled-down.
  tr = applyEvent(tr.state, up(B));
  t.same(kinds(tr.effects), [`health ${B}`, 'alert']);
  t.same(pooledHosts(tr.state), [B]);
  t.same(tr.state.pooledDown, []);
});

t.test('a pooled-down server is depooled as soon as another one comes up (PyBal repool loop)', async (t) => {
  let tr = startPool([A, B], 0.5);
  tr = run(tr.state, [down(A), down(B)]);
  tr = applyEvent(tr.state, up(A));
  t.same(kinds(tr.effects), [`health ${A}`, `repooled ${A}`, `depooled ${B}`, 'alert']);
  t.same(pooledHosts(tr.state), [A]);
  t.same(tr.state.pooledDown, []);
});

t.test('the first check: an assumed-up server reporting up changes nothing; reporting down depools it', async (t) => {
  let tr = startPool([A, B, C, D], 0.5);
  tr = applyEvent(tr.state, up(A, 1, 'status 200'));
  t.same(tr.effects, [], 'already up and pooled');
  t.equal(tr.state.servers.get(A)!.checked, true);
  t.equal(tr.state.servers.get(A)!.reason, 'status 200');
  t.equal(tr.state.revision, 2, 'the reason changed, so the published state changed');
  // All four fail their first check: two leave, two are kept.
  tr = run(tr.state, [down(A, 2), down(B, 2), down(C, 2), down(D, 2)]);
  t.same(pooledHosts(tr.state), [C, D]);
  t.same(tr.state.pooledDown, [C, D]);
});

t.test('ensuring the threshold at start (PyBal testEnsureDepoolThreshold)', async (t) => {
  const hosts = [A, B, C, D];
  const health = Object.fromEntries(hosts.map((h) => [h, { up: false, reason: 'refused', at: 0 }]));
  // All disabled: nothing can be pooled; the threshold cannot be met.
  let tr = createCoordinator({ at: 0, service: service(hosts, 0.5), admin: adminAll(hosts, { weight: 10, pooled: 'no' }), health });
  t.same(pooledHosts(tr.state), []);
  t.same(kinds(tr.effects), ['thresholdUnmet']);
  t.match(tr.effects[0], { enabled: 0, total: 4, required: 2, pooled: 0 });
  // All enabled and down: two are force-pooled (by name) to meet 4 × .5.
  tr = createCoordinator({ at: 0, service: service(hosts, 0.5), admin: adminAll(hosts), health });
  t.same(pooledHosts(tr.state), [A, B]);
  t.same(tr.state.pooledDown, [A, B]);
  t.same(kinds(tr.effects), [`forcePooled ${A}`, `forcePooled ${B}`, 'alert']);
  t.match(tr.effects[0], { upEnabled: 0, total: 4, threshold: 0.5, required: 2, pooled: 2 });
  t.equal(tr.state.counters.forcePooled, 2);
  // The first server to come up lets... nothing go yet (1 < 2); the second lets both forced ones go.
  tr = run(tr.state, [up(C), up(D)]);
  t.same(pooledHosts(tr.state), [C, D]);
  t.same(tr.state.pooledDown, []);
});

t.test('a restart reuses the last published state and does not flap', async (t) => {
  const hosts = [A, B, C, D];
  let tr = startPool(hosts, 0.5);
  tr = run(tr.state, [down(A, 1), down(B, 2), down(C, 3)]);
  const published = effectiveState(tr.state);
  const restarted = createCoordinator({ at: 100, service: service(hosts, 0.5), admin: adminAll(hosts), previous: published });
  t.same(restarted.effects, [], 'nothing changes');
  t.same(pooledHosts(restarted.state), pooledHosts(tr.state));
  t.same(restarted.state.pooledDown, [C]);
  t.equal(restarted.state.revision, published.revision + 1);
  // Fresher health wins over the previous state: C recovered while poold was down.
  const fresh = createCoordinator({
    at: 100,
    service: service(hosts, 0.5),
    admin: adminAll(hosts),
    previous: published,
    health: { [C]: { up: true, reason: 'ok', at: 99 } },
  });
  t.same(kinds(fresh.effects), [`health ${C}`, 'alert']);
  t.same(fresh.state.pooledDown, []);
  t.same(pooledHosts(fresh.state), [C, D]);
});

t.test('weight 0 (drain) stays pooled with weight 0', async (t) => {
  let tr = startPool([A, B], 0.5);
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: yes(0), at: 1 });
  t.same(kinds(tr.effects), [`weightChanged ${A}`]);
  t.equal(tr.state.servers.get(A)!.pooled, true);
  t.equal(effectiveState(tr.state).servers[A].weight, 0);
});

t.test('forced admin no and inactive always leave the pool, even a pooled-down server', async (t) => {
  let tr = startPool([A, B, C, D], 0.5);
  tr = run(tr.state, [down(A), down(B), down(C)]);
  t.same(tr.state.pooledDown, [C]);
  // Depooling D (the only up one) makes 0 up. Unforced, the depool is held (coordinator-hold.ts R1)...
  const held = applyEvent(tr.state, { type: 'adminChanged', host: D, value: { weight: 10, pooled: 'no' }, at: 5, revision: 7 });
  t.same(kinds(held.effects), [`adminHeld ${D}`]);
  t.equal(held.state.servers.get(D)!.pooled, true);
  // ...forced (a force marker on the write), D leaves, and the threshold force-pools A to keep 2 pooled.
  tr = applyEvent(tr.state, { type: 'adminChanged', host: D, value: { weight: 10, pooled: 'no' }, at: 5, revision: 7, force: { actor: 'op' } });
  t.same(kinds(tr.effects), [`adminChanged ${D}`, `depooled ${D}`, `forcePooled ${A}`, 'alert']);
  t.same(pooledHosts(tr.state), [A, C]);
  t.same(tr.state.pooledDown, [A, C]);
  // Decommissioning C: C leaves and is no longer pooled-down; total drops to 3 → 2 needed: B is forced.
  tr = applyEvent(tr.state, { type: 'adminChanged', host: C, value: { weight: 10, pooled: 'inactive' }, at: 6 });
  t.same(kinds(tr.effects), [`adminChanged ${C}`, `depooled ${C}`, `forcePooled ${B}`, 'alert']);
  t.same(tr.state.pooledDown, [A, B]);
  t.notOk(tr.state.servers.get(C)!.pooled);
});

t.test('config change re-evaluation honours the threshold (T184715)', async (t) => {
  const hosts = [A, B, C, D];
  let tr = startPool(hosts, 0.5);
  tr = run(tr.state, [down(A), down(B)]);
  t.same(pooledHosts(tr.state), [C, D]);
  // Raising the threshold to 1: A and B must be force-pooled, not left out.
  tr = applyEvent(tr.state, { type: 'configChanged', service: service(hosts, 1), at: 5 });
  t.same(kinds(tr.effects), ['thresholdChanged', `forcePooled ${A}`, `forcePooled ${B}`, 'alert']);
  t.same(pooledHosts(tr.state), hosts);
  t.same(tr.state.pooledDown, [A, B]);
  // Lowering it back: both kept servers leave at once.
  tr = applyEvent(tr.state, { type: 'configChanged', service: service(hosts, 0.5), at: 6 });
  t.same(kinds(tr.effects), ['thresholdChanged', `depooled ${A}`, `depooled ${B}`, 'alert']);
  t.same(tr.state.pooledDown, []);
});

t.test('removing a pooled-down server leaves no stale entry', async (t) => {
  let tr = startPool([A, B], 0.5);
  tr = run(tr.state, [down(A), down(B)]);
  t.same(tr.state.pooledDown, [B]);
  // The host leaves the definition; its conftool entry is deleted by the sync.
  tr = applyEvent(tr.state, { type: 'configChanged', service: service([A], 0.5), at: 3 });
  t.equal(tr.state.servers.get(B)!.defined, false, 'still in conftool, so still a member');
  tr = applyEvent(tr.state, { type: 'adminChanged', host: B, value: null, at: 4 });
  t.same(kinds(tr.effects), [`depooled ${B}`, `serverRemoved ${B}`, `forcePooled ${A}`, 'alert']);
  t.same([...tr.state.servers.keys()], [A]);
  t.same(tr.state.pooledDown, [A]);
  t.equal(
    alertsText(computeAlerts([effectiveState(tr.state)])),
    'CRITICAL - cxserver: Servers cp1045.eqiad.wmnet are marked down but pooled',
  );
});

t.test('hosts defined but not in conftool are shown inactive and never counted', async (t) => {
  const tr = createCoordinator({ at: 0, service: service([A, B, C], 1), admin: adminAll([A, B]) });
  t.equal(tr.state.servers.get(C)!.pooledAdmin, 'inactive');
  t.equal(tr.state.servers.get(C)!.registered, false);
  t.same(pooledHosts(tr.state), [A, B]);
  t.ok(canDepool(tr.state), 'total is 2, not 3');
  // Registering it makes it a member, assumed up until checked.
  const tr2 = applyEvent(tr.state, { type: 'adminChanged', host: C, value: yes(), at: 1 });
  t.same(kinds(tr2.effects), [`adminChanged ${C}`, `repooled ${C}`]);
  t.equal(tr2.state.servers.get(C)!.reason, ASSUMED_UP_REASON);
  // A new conftool-only host is added as a member.
  const E = 'cp1099.eqiad.wmnet';
  const tr3 = applyEvent(tr2.state, { type: 'adminChanged', host: E, value: yes(), at: 2 });
  t.same(kinds(tr3.effects), [`serverAdded ${E}`, `repooled ${E}`]);
  t.same([...tr3.state.servers.keys()], [A, B, C, E], 'kept sorted');
});

t.test('events about unknown hosts are ignored, visibly', async (t) => {
  const tr = startPool([A, B], 0.5);
  const r = applyEvent(tr.state, down('nope.eqiad.wmnet'));
  t.equal(r.state, tr.state);
  t.same(r.effects, [{ kind: 'ignored', host: 'nope.eqiad.wmnet', reason: 'health of nope.eqiad.wmnet, which is not in pool eqiad/cxserver' }]);
  const r2 = applyEvent(tr.state, { type: 'adminChanged', host: 'nope', value: null, at: 1 });
  t.equal(r2.effects[0].kind, 'ignored');
});

t.test('an event that changes nothing returns the same state and no effects', async (t) => {
  const tr = startPool([A, B], 0.5);
  const r = applyEvent(tr.state, { type: 'adminChanged', host: A, value: yes(), at: 9 });
  t.equal(r.state, tr.state);
  t.same(r.effects, []);
});

t.test('bad input is a typed error saying where and what', async (t) => {
  const tr = startPool([A, B], 0.5);
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: service([A, B], 1.5), at: 1 }), {
    name: 'CoordinatorInputError',
    message: 'config change of eqiad/cxserver: depool threshold must be in [0, 1], got 1.5',
  });
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: { ...service([A], 0.5), name: 'other' }, at: 1 }), {
    message: /belongs to LVS service eqiad\/other, but this coordinator manages eqiad\/cxserver/,
  });
  t.throws(() => applyEvent(tr.state, { type: 'configChanged', service: { ...service([A], 0.5), pool: { cluster: 'sca', service: 'x' } }, at: 1 }), {
    message: /draws from pool sca\/x, but this coordinator was built over sca\/cxserver; rebuild it/,
  });
  t.throws(
    () => applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: 1, pooled: 'maybe' as 'yes' }, at: 1 }),
    CoordinatorInputError,
  );
  t.throws(() => applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: -1, pooled: 'yes' }, at: 1 }), {
    message: /weight=-1; expected a number >= 0/,
  });
  t.throws(() => createCoordinator({ at: 0, service: service([A], Number.NaN), admin: {} }), { message: /start of eqiad\/cxserver: depool threshold/ });
  t.throws(
    () => createCoordinator({ at: 0, service: service([A], 0.5), admin: {}, previous: { ...effectiveState(tr.state), dc: 'codfw' } }),
    { message: /previous state: belongs to LVS service codfw\/cxserver/ },
  );
});

t.test('effectiveState carries the published fields', async (t) => {
  let tr = startPool([A, B], 0.5);
  tr = run(tr.state, [down(A, 7, 'status 404 (expected 200)')]);
  const s = effectiveState(tr.state);
  t.same(s, {
    ...KEY,
    pool: { cluster: 'sca', service: 'cxserver' },
    revision: 2,
    updatedAt: 7,
    depoolThreshold: 0.5,
    pooledDown: [],
    servers: {
      [A]: { pooledAdmin: 'yes', enabled: true, up: false, pooled: false, weight: 10, reason: 'status 404 (expected 200)', flapping: false, findings: [] },
      [B]: { pooledAdmin: 'yes', enabled: true, up: true, pooled: true, weight: 10, reason: ASSUMED_UP_REASON, flapping: false, findings: [] },
    },
  });
});
