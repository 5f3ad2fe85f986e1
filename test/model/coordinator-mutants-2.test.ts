// Coordinator behaviour (coordinator.ts) that mutation testing (test/model/MUTATION.md) showed no model
// test pinned: error messages and contexts, the effects of a start that replays a backlog of admin
// depools, a previous state of another pool ignored at start, which servers a first round waits for
// (members only, complete verdicts only), a freeze given at start, the pooling kept at a gated restart,
// servers an admin change adds to a first round, and when a change of holds alone is published.
import t from 'tap';
import { applyEvent, applyEvents, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import { CoordinatorInputError } from '../../src/model/coordinator-types.js';
import type { CoordinatorEvent } from '../../src/model/coordinator-types.js';
import type { ConftoolValue } from '../../src/model/types.js';
import { adminAll, hostNames, pooledHosts, service, startPool } from './coordinator-fixtures.js';

const H = hostNames(4);
const [A, B, C, D] = H;
const NO: ConftoolValue = { weight: 10, pooled: 'no' };
const OP = { actor: 'alice', reason: 'maintenance' };
const ROUND = 60_000;

t.test('errors: the start names the service; an unknown event is carried in the context', async (t) => {
  t.throws(() => createCoordinator({ at: 0, service: service(H, 0.5), admin: { ...adminAll(H), [A]: { weight: 10, pooled: 'maybe' } as unknown as ConftoolValue } }),
    { name: 'CoordinatorInputError', message: /^start of eqiad\/cxserver: conftool value of cp1045\.eqiad\.wmnet has pooled="maybe"/ });
  const bogus = { type: 'bogus', at: 1 } as unknown as CoordinatorEvent;
  try {
    applyEvent(startPool(H, 0.5).state, bogus);
    t.fail('an unknown event must throw');
  } catch (e) {
    t.ok(e instanceof CoordinatorInputError);
    t.same((e as CoordinatorInputError).context, { event: bogus });
  }
});

t.test('a start that replays an admin depool written while nobody led reports it', async (t) => {
  const published = effectiveState(startPool(H, 0.5).state);
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin: { ...adminAll(H), [A]: NO }, previous: published, adminRevisions: { [A]: 100 } });
  t.same(pooledHosts(tr.state), [B, C, D]);
  t.ok(tr.effects.some((e) => e.kind === 'depooled' && e.host === A && e.cause === 'admin'), 'the replayed depool is an effect of the start');
  t.ok(tr.effects.some((e) => e.kind === 'adminChanged' && e.host === A), 'and so is the admin change');
});

t.test('a previous state of another pool is not replayed at start', async (t) => {
  // Two hosts at threshold 1: depooling A would break the threshold, so a replay would HOLD it.
  const two = [A, B];
  const foreign = { ...service(two, 1), pool: { cluster: 'other', service: 'other' } };
  const published = effectiveState(createCoordinator({ at: 0, service: foreign, admin: adminAll(two) }).state);
  const tr = createCoordinator({ at: 500, service: service(two, 1), admin: { [A]: NO, [B]: adminAll(two)[B] }, previous: published, adminRevisions: { [A]: 100 } });
  t.equal(tr.state.holds?.size ?? 0, 0, 'no hold: A was never effectively yes in THIS pool');
  t.same(pooledHosts(tr.state), [B], 'A is simply not pooled');
  // The same previous state of this pool is replayed: A is held.
  const mine = effectiveState(createCoordinator({ at: 0, service: service(two, 1), admin: adminAll(two) }).state);
  const held = createCoordinator({ at: 500, service: service(two, 1), admin: { [A]: NO, [B]: adminAll(two)[B] }, previous: mine, adminRevisions: { [A]: 100 } });
  t.equal(held.state.holds?.get(A)?.status, 'held', 'control: the same backlog in this pool is held');
});

t.test('a replayed backlog with a forced host the previous state did not know', async (t) => {
  const E = 'cp1049.eqiad.wmnet';
  const published = effectiveState(startPool(H, 0.5).state);
  const admin = { ...adminAll(H), [A]: NO, [E]: NO };
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: published, adminRevisions: { [A]: 100, [E]: 101 }, forced: { [E]: OP } });
  t.same(effectiveState(tr.state).servers[E].adminHold, { status: 'forced', requested: 'no', revision: 101, since: 500, writer: OP });
  t.same(pooledHosts(tr.state), [B, C, D]);
});

t.test('a hold that changed status across the restart starts its time at the restart', async (t) => {
  // Before: A's depool at revision 100 was held (pool of 2 at threshold 1). After: the same write carries a force marker.
  const two = [A, B];
  const s0 = createCoordinator({ at: 0, service: service(two, 1), admin: adminAll(two) }).state;
  const s1 = applyEvent(s0, { type: 'adminChanged', at: 7, host: A, value: NO, revision: 100 }).state;
  t.equal(s1.holds?.get(A)?.status, 'held', 'precondition: held before the restart');
  const tr = createCoordinator({ at: 500, service: service(two, 1), admin: { [A]: NO, [B]: adminAll(two)[B] }, previous: effectiveState(s1), adminRevisions: { [A]: 100 }, forced: { [A]: OP } });
  t.equal(tr.state.holds?.get(A)?.status, 'forced');
  t.equal(tr.state.holds?.get(A)?.since, 500, 'forced since the restart, not since the old held time');
  // Control: still held after the restart keeps its time.
  const still = createCoordinator({ at: 500, service: service(two, 1), admin: { [A]: NO, [B]: adminAll(two)[B] }, previous: effectiveState(s1), adminRevisions: { [A]: 100 } });
  t.equal(still.state.holds?.get(A)?.since, 7);
});

const fresh = (downHosts: readonly string[], extra: Record<string, object> = {}) =>
  Object.fromEntries(H.map((h) => [h, { up: !downHosts.includes(h), reason: downHosts.includes(h) ? 'refused' : 'ok', at: 400, ...(extra[h] ?? {}) }]));

t.test('the first round at start waits only for pool members, and only for complete verdicts', async (t) => {
  const E = 'cp1050.eqiad.wmnet'; // listed in the definition, not in conftool
  const F = 'cp1051.eqiad.wmnet'; // in conftool as inactive
  const def = service([...H, E], 0.5);
  const admin = { ...adminAll(H), [F]: { weight: 10, pooled: 'inactive' as const } };
  const tr = createCoordinator({ at: 500, service: def, admin, health: fresh([A]), firstRoundTimeoutMs: ROUND });
  t.equal(tr.state.firstRound, undefined, 'every member has a verdict: no round (E and F are not members)');
  t.same(pooledHosts(tr.state), [B, C, D], 'so the down server is depooled at once');
  // A verdict that does not cover every check yet is not a first verdict: the round waits for A.
  const partial = createCoordinator({ at: 500, service: def, admin, health: fresh([A], { [A]: { complete: false } }), firstRoundTimeoutMs: ROUND });
  t.same(partial.state.firstRound?.waiting, [A]);
  t.same(pooledHosts(partial.state), H, 'A is held pooled while the round waits for it');
  const complete = createCoordinator({ at: 500, service: def, admin, health: fresh([A], { [A]: { complete: true } }), firstRoundTimeoutMs: ROUND });
  t.same(pooledHosts(complete.state), [B, C, D]);
});

t.test('a freeze given at start holds health depools', async (t) => {
  const freeze = { since: 0, until: 10_000, actor: 'alice', reason: 'network work' };
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin: adminAll(H), health: fresh([A]), freeze });
  t.same(tr.state.freeze, freeze);
  t.same(pooledHosts(tr.state), H, 'A stays pooled under the freeze');
  const after = applyEvent(tr.state, { type: 'tick', at: 10_000 });
  t.same(pooledHosts(after.state), [B, C, D], 'and leaves when it ends');
});

t.test('a gated restart keeps a down server depooled that the previous state had depooled', async (t) => {
  const s1 = applyEvent(startPool(H, 0.5).state, { type: 'healthChanged', at: 5, host: A, up: false, reason: 'refused' }).state;
  t.same(pooledHosts(s1), [B, C, D], 'precondition');
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin: adminAll(H), previous: effectiveState(s1), firstRoundTimeoutMs: ROUND });
  t.ok(tr.state.firstRound !== undefined, 'precondition: the round holds (no fresh verdicts)');
  t.same(pooledHosts(tr.state), [B, C, D], 'A is not pooled again by the gate');
  t.notOk(tr.effects.some((e) => 'host' in e && e.host === A && (e.kind === 'forcePooled' || e.kind === 'keptPooled' || e.kind === 'repooled')));
});

t.test('an admin change adds a new member to the first round; a change of an existing member does not', async (t) => {
  const F = 'cp1051.eqiad.wmnet';
  const s0 = createCoordinator({ at: 0, service: service(H, 0.5), admin: { ...adminAll(H), [F]: { weight: 10, pooled: 'inactive' } } }).state;
  t.equal(s0.firstRound, undefined, 'precondition: no round');
  const joined = applyEvent(s0, { type: 'adminChanged', at: 1, host: F, value: { weight: 10, pooled: 'yes' }, firstRoundTimeoutMs: ROUND });
  t.same(joined.state.firstRound?.waiting, [F], 'inactive -> yes: a new member, waited for');
  const weight = applyEvent(s0, { type: 'adminChanged', at: 1, host: A, value: { weight: 5, pooled: 'yes' }, firstRoundTimeoutMs: ROUND });
  t.equal(weight.state.firstRound, undefined, 'a weight change of a member starts no round');
  t.same(weight.effects.map((e) => e.kind), ['weightChanged']);
});

t.test('a change of holds alone is published; a no-op event with holds present is not', async (t) => {
  // 4 at .5: A force-depooled at revision 100; then the next write (200), also forced.
  const s0 = startPool(H, 0.5).state;
  const s1 = applyEvent(s0, { type: 'adminChanged', at: 7, host: A, value: NO, revision: 100, force: OP }).state;
  const s2 = applyEvent(s1, { type: 'adminChanged', at: 9, host: A, value: NO, revision: 200, force: OP });
  t.equal(s2.state.revision, s1.revision + 1, 'the new forced write is published');
  t.equal(s2.state.holds?.get(A)?.revision, 200);
  t.equal(effectiveState(s2.state).servers[A].adminHold?.revision, 200);
  // A hold present, and health repeated: nothing changed, the same state.
  const s3 = applyEvent(s2.state, { type: 'healthChanged', at: 10, host: B, up: true, reason: 'ok' }).state;
  const again = applyEvents(s3, [{ type: 'healthChanged', at: 11, host: B, up: true, reason: 'ok' }]);
  t.equal(again.state, s3, 'no new revision');
  t.same(again.effects, []);
});
