// Behaviour at start (createCoordinator) that mutation testing (test/model/MUTATION.md) showed no model
// test reached: a forced depool applied before the restart stays shown as forced while its write is
// current, and a replayed backlog keeps the time and writer of holds that are still the same write.
// Each assertion names what an operator would see in /pools: the hold's status, since, writer, revision.
import t from 'tap';
import { applyEvent, applyEvents, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import type { ConftoolValue } from '../../src/model/types.js';
import { adminAll, hostNames, pooledHosts, service, startPool } from './coordinator-fixtures.js';

const OP = { actor: 'alice', reason: 'maintenance' };
const OTHER = { actor: 'bob', reason: 'reimage' };
const H = hostNames(4);
const [A, B, C, D] = H;
const NO: ConftoolValue = { weight: 10, pooled: 'no' };

/** A pool of 4 at .5 where A was force-depooled at revision 100 (time 7) and that state published. */
function forcedBefore() {
  const tr = applyEvent(startPool(H, 0.5).state, { type: 'adminChanged', at: 7, host: A, value: NO, revision: 100, force: OP });
  return effectiveState(tr.state);
}

t.test('a forced depool applied before a restart stays forced, with its time, writer and revision', async (t) => {
  const published = forcedBefore();
  t.equal(published.servers[A].adminHold?.status, 'forced', 'precondition: published as forced');
  t.equal(published.servers[A].adminHold?.since, 7);
  const admin = { ...adminAll(H), [A]: NO };
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: published, adminRevisions: { [A]: 100 }, forced: { [A]: OP } });
  t.same([...(tr.state.holds ?? new Map()).keys()], [A], 'only the forced host carries a hold');
  const h = tr.state.holds?.get(A);
  t.equal(h?.status, 'forced');
  t.same(h?.requested, NO);
  t.equal(h?.revision, 100);
  t.equal(h?.since, 7, 'since is kept from the forced hold of the previous state, not the restart time');
  t.same(h?.writer, OP);
  t.same(effectiveState(tr.state).servers[A].adminHold, { status: 'forced', requested: 'no', revision: 100, since: 7, writer: OP });
  t.same(pooledHosts(tr.state), [B, C, D], 'the forced depool stays applied');
  // The writer given at start wins over none: another writer's marker is shown as that writer.
  const other = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: published, adminRevisions: { [A]: 100 }, forced: { [A]: OTHER } });
  t.same(other.state.holds?.get(A)?.writer, OTHER);
  // Without the write's revision, the hold records revision 0.
  const norev = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: published, forced: { [A]: OP } });
  t.equal(norev.state.holds?.get(A)?.revision, 0);
  t.equal(norev.state.holds?.get(A)?.since, 7);
});

t.test('a forced depool with no forced hold before starts its time at the restart', async (t) => {
  const admin = { ...adminAll(H), [A]: NO };
  // No previous state at all.
  const fresh = createCoordinator({ at: 500, service: service(H, 0.5), admin, adminRevisions: { [A]: 100 }, forced: { [A]: OP } });
  t.same(effectiveState(fresh.state).servers[A].adminHold, { status: 'forced', requested: 'no', revision: 100, since: 500, writer: OP });
  // A previous state where A was depooled without a force marker (no hold): the time is the restart's.
  const plain = applyEvents(startPool(H, 0.5).state, [{ type: 'adminChanged', at: 7, host: A, value: NO, revision: 100 }]);
  t.equal(effectiveState(plain.state).servers[A].adminHold, undefined, 'precondition: no hold before');
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: effectiveState(plain.state), adminRevisions: { [A]: 100 }, forced: { [A]: OP } });
  t.equal(tr.state.holds?.get(A)?.since, 500);
  t.equal(tr.state.holds?.get(A)?.status, 'forced');
});

t.test('a force marker on a write that is not a depool, or on a host not in the pool, makes no hold', async (t) => {
  // A's current write is pooled=yes (the forced depool was undone): no forced mark; E is not a member.
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin: adminAll(H), previous: forcedBefore(), adminRevisions: { [A]: 101 }, forced: { [A]: OP, 'e.eqiad.wmnet': OP } });
  t.equal(tr.state.holds, undefined, 'no holds at all: the state is the plain one');
  t.equal(effectiveState(tr.state).servers[A].adminHold, undefined);
  t.same(pooledHosts(tr.state), H);
  // inactive is a depool too: it is shown forced.
  const inactive = createCoordinator({ at: 500, service: service(H, 0.5), admin: { ...adminAll(H), [A]: { weight: 10, pooled: 'inactive' } }, adminRevisions: { [A]: 101 }, forced: { [A]: OP } });
  t.same(effectiveState(inactive.state).servers[A].adminHold, { status: 'forced', requested: 'inactive', revision: 101, since: 500, writer: OP });
});

t.test('a forced depool written while nobody led (pending) is replayed as forced, not kept from before', async (t) => {
  // A was pooled in the published state; its forced depool (revision 100) was written during the gap.
  const published = effectiveState(startPool(H, 0.5).state);
  const admin = { ...adminAll(H), [A]: NO };
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: published, adminRevisions: { [A]: 100 }, forced: { [A]: OP } });
  t.same(effectiveState(tr.state).servers[A].adminHold, { status: 'forced', requested: 'no', revision: 100, since: 500, writer: OP });
  t.same(pooledHosts(tr.state), [B, C, D]);
});

t.test('after replaying a backlog, earlier holds keep their since and writer when the same write is held', async (t) => {
  // 4 at .5: B, C and D are depooled unforced while nobody led; B and C go, D (rev 102) is held.
  const published = effectiveState(startPool(H, 0.5).state);
  const admin = { ...adminAll(H), [B]: NO, [C]: NO, [D]: NO };
  const revs = { [B]: 100, [C]: 101, [D]: 102 };
  const first = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: published, adminRevisions: revs });
  t.equal(first.state.holds?.get(D)?.status, 'held', 'precondition: D is held');
  t.equal(first.state.holds?.get(D)?.since, 500);
  // The audit record names the writer of D's depool.
  const named = applyEvent(first.state, { type: 'adminWriter', at: 510, host: D, revision: 102, writer: OTHER });
  const before = effectiveState(named.state);
  t.same(before.servers[D].adminHold?.writer, OTHER);
  // A second restart replays D again (still pooled=yes in the state): the hold keeps 500 and its writer.
  const again = createCoordinator({ at: 900, service: service(H, 0.5), admin, previous: before, adminRevisions: revs });
  const h = again.state.holds?.get(D);
  t.equal(h?.status, 'held');
  t.equal(h?.revision, 102);
  t.equal(h?.since, 500, 'the same held write keeps its time');
  t.same(h?.writer, OTHER, 'and its writer');
  // A new write (another revision) for D is a new hold: its time is the restart's, the writer unknown.
  const rewritten = createCoordinator({ at: 900, service: service(H, 0.5), admin, previous: before, adminRevisions: { ...revs, [D]: 103 } });
  t.equal(rewritten.state.holds?.get(D)?.revision, 103);
  t.equal(rewritten.state.holds?.get(D)?.since, 900);
  t.not(rewritten.state.holds?.get(D)?.writer, OTHER);
  // A previous hold without a writer keeps no writer key from it: the replayed one stays as replayed.
  const unnamed = createCoordinator({ at: 900, service: service(H, 0.5), admin, previous: effectiveState(first.state), adminRevisions: revs });
  t.equal(unnamed.state.holds?.get(D)?.since, 500);
  t.same(unnamed.state.holds?.get(D)?.writer, first.state.holds?.get(D)?.writer);
});
