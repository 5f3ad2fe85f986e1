// Rules of the admin-depool hold (src/model/coordinator-hold.ts, R1-R6) that coordinator-hold.test.ts
// did not pin, found by mutation testing (test/model/MUTATION.md): the release effects and their `why`,
// the time a hold keeps, the same write delivered again, a newer write of a held host, the end of a
// forced mark, release order under ties and out-of-order writes, the writer bookkeeping (a new state
// only when the writer really changed), and the order of one tick's admin changes.
import t from 'tap';
import { applyEvent, applyEvents, effectiveState } from '../../src/model/coordinator.js';
import { orderAdminChanges, serves } from '../../src/model/coordinator-hold.js';
import type { CoordinatorEffect, CoordinatorEvent, CoordinatorState } from '../../src/model/coordinator-types.js';
import type { ConftoolValue, Pooled } from '../../src/model/types.js';
import { hostNames, pooledHosts, startPool } from './coordinator-fixtures.js';

const H = hostNames(10);

function admin(host: string, pooled: Pooled, opts: { revision?: number; at?: number; weight?: number; force?: string } = {}): CoordinatorEvent {
  const value: ConftoolValue = { weight: opts.weight ?? 10, pooled };
  return {
    type: 'adminChanged', host, value, at: opts.at ?? opts.revision ?? 1,
    ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
    ...(opts.force !== undefined ? { force: { actor: opts.force } } : {}),
  };
}

function held(state: CoordinatorState): string[] {
  return [...(state.holds ?? new Map())].filter(([, h]) => h.status === 'held').map(([host]) => host).sort();
}

function releases(effects: readonly CoordinatorEffect[]): string[] {
  return effects.flatMap((e) => (e.kind === 'adminReleased' ? [`${e.host} ${e.why}`] : []));
}

function heldCount(effects: readonly CoordinatorEffect[]): number {
  return effects.filter((e) => e.kind === 'adminHeld').length;
}

/** 10 hosts at .5, depools of H0..H6 at revisions (and times) 100..106: H5 and H6 held. */
function sevenDepools(): CoordinatorState {
  return applyEvents(startPool(H, 0.5).state, H.slice(0, 7).map((h, i) => admin(h, 'no', { revision: 100 + i }))).state;
}

t.test('R4: a repool of a held host releases it as superseded; of a forced host, nothing is released', async (t) => {
  let tr = applyEvent(sevenDepools(), admin(H[6], 'yes', { revision: 200 }));
  t.same(releases(tr.effects), [`${H[6]} superseded`]);
  t.same(held(tr.state), [H[5]]);
  tr = applyEvent(tr.state, admin(H[6], 'no', { revision: 201, force: 'alice' }));
  t.same(releases(tr.effects), [], 'forcing a host that was not held releases nothing');
  t.equal(tr.state.holds?.get(H[6])?.status, 'forced');
  tr = applyEvent(tr.state, admin(H[6], 'yes', { revision: 202 }));
  t.same(releases(tr.effects), [], 'the end of a forced mark is no release');
  t.equal(tr.state.holds?.get(H[6]), undefined);
});

t.test('R5: a force marker for the held write releases it as forced and keeps the time it was held', async (t) => {
  const tr = applyEvent(sevenDepools(), admin(H[6], 'no', { revision: 106, at: 300, force: 'alice' }));
  t.same(releases(tr.effects), [`${H[6]} forced`]);
  t.match(effectiveState(tr.state).servers[H[6]].adminHold, { status: 'forced', revision: 106, since: 106, writer: { actor: 'alice' } });
  // A forced write of another revision is a new write: its time is now.
  const other = applyEvent(sevenDepools(), admin(H[5], 'no', { revision: 150, at: 300, force: 'bob' }));
  t.same(releases(other.effects), [`${H[5]} forced`]);
  t.match(effectiveState(other.state).servers[H[5]].adminHold, { status: 'forced', revision: 150, since: 300 });
});

t.test('the same held write delivered again changes nothing (no effect, no new state, weight kept)', async (t) => {
  const state = sevenDepools();
  // The leader re-reads a host when its force marker changes; the marker is gone, the write is the same.
  const tr = applyEvent(state, admin(H[6], 'no', { revision: 106, at: 400, weight: 5 }));
  t.same(tr.effects, []);
  t.equal(tr.state, state, 'the same state object: nothing to publish');
  t.equal(tr.state.servers.get(H[6])!.weight, 10, 'the held host keeps serving with its weight');
  t.equal(tr.state.servers.get(H[6])!.pooled, true);
});

t.test('the same forced write delivered again without its marker stays forced', async (t) => {
  let tr = applyEvent(sevenDepools(), admin(H[6], 'no', { revision: 106, at: 300, force: 'alice' }));
  tr = applyEvent(tr.state, admin(H[6], 'no', { revision: 106, at: 400 }));
  t.match(effectiveState(tr.state).servers[H[6]].adminHold, { status: 'forced', revision: 106, since: 106 });
  t.equal(tr.state.servers.get(H[6])!.pooled, false);
});

t.test('R4: a newer depool write of a held host is judged under its own revision and keeps the hold time', async (t) => {
  const tr = applyEvent(sevenDepools(), admin(H[6], 'no', { revision: 300, at: 300 }));
  t.same(held(tr.state), [H[5], H[6]]);
  t.match(effectiveState(tr.state).servers[H[6]].adminHold, { status: 'held', revision: 300, since: 106 });
  t.equal(heldCount(tr.effects), 1, 'held again, under the new revision');
});

t.test('without revisions a second depool of a held host cannot be told from a new write: judged again', async (t) => {
  const noRev = applyEvents(startPool(H, 0.5).state, H.slice(0, 7).map((h) => admin(h, 'no', { at: 5 }))).state;
  t.same(held(noRev), [H[5], H[6]]);
  const tr = applyEvent(noRev, admin(H[6], 'no', { at: 6 }));
  t.equal(heldCount(tr.effects), 1);
  t.match(effectiveState(tr.state).servers[H[6]].adminHold, { status: 'held', revision: 0, since: 5 });
});

t.test('R5: a forced mark ends with the next admin write, also a depool', async (t) => {
  let tr = applyEvent(sevenDepools(), admin(H[6], 'no', { revision: 106, at: 300, force: 'alice' }));
  tr = applyEvent(tr.state, admin(H[6], 'inactive', { revision: 310 }));
  t.equal(tr.state.holds?.get(H[6]), undefined);
  t.equal(effectiveState(tr.state).servers[H[6]].adminHold, undefined);
  t.equal(tr.state.servers.get(H[6])!.pooledAdmin, 'inactive');
});

t.test('R1/R4: a held `no` rewritten as `inactive` that now fits is applied and released as superseded', async (t) => {
  // Threshold 1: every serving host is required, but `inactive` also leaves the total.
  const four = hostNames(4);
  let tr = applyEvent(startPool(four, 1).state, admin(four[0], 'no', { revision: 10 }));
  t.same(held(tr.state), [four[0]]);
  tr = applyEvent(tr.state, admin(four[0], 'inactive', { revision: 11 }));
  t.same(releases(tr.effects), [`${four[0]} superseded`]);
  t.same(held(tr.state), []);
  t.equal(tr.state.servers.get(four[0])!.pooled, false);
});

t.test('R3: released by revision, then by name, whatever order the writes arrived in; why is room', async (t) => {
  // 4 hosts at .75: 3 must serve. After A's depool 3 serve; B and C are held.
  const [a, b, c, d] = hostNames(4);
  // C (revision 11) arrives before B (revision 10).
  let tr = applyEvents(startPool([a, b, c, d], 0.75).state, [admin(a, 'no', { revision: 5 }), admin(c, 'no', { revision: 11 }), admin(b, 'no', { revision: 10 })]);
  t.same(held(tr.state), [b, c]);
  tr = applyEvent(tr.state, admin(a, 'yes', { revision: 20 }));
  t.same(releases(tr.effects), [`${b} room`], 'the older write goes first');
  t.same(held(tr.state), [c]);

  // One transaction (one revision): by host name, though the later name arrived first.
  tr = applyEvents(startPool([a, b, c, d], 0.75).state, [admin(a, 'no', { revision: 5 }), admin(c, 'no', { revision: 10 }), admin(b, 'no', { revision: 10 })]);
  t.same(held(tr.state), [b, c]);
  tr = applyEvent(tr.state, admin(a, 'yes', { revision: 20 }));
  t.same(releases(tr.effects), [`${b} room`]);
  t.same(pooledHosts(tr.state), [a, c, d]);
});

t.test('an event that changes nothing while depools are held keeps the same state', async (t) => {
  const state = sevenDepools();
  const tr = applyEvent(state, { type: 'tick', at: 500 });
  t.equal(tr.state, state);
  t.same(tr.effects, []);
});

t.test('the writer of a hold: a new state only when it really changes', async (t) => {
  const state = sevenDepools();
  const writer = (host: string, revision: number, w: { actor: string; reason?: string } | null): CoordinatorEvent =>
    ({ type: 'adminWriter', at: 600, host, revision, writer: w });
  t.equal(applyEvent(state, writer(H[8], 108, { actor: 'alice' })).state, state, 'a host without a hold: nothing');
  t.equal(applyEvent(state, writer(H[5], 99, { actor: 'alice' })).state, state, 'another revision: nothing');

  const unknown = applyEvent(state, writer(H[5], 105, null)).state;
  t.not(unknown, state);
  t.equal(applyEvent(unknown, writer(H[5], 105, null)).state, unknown, 'unknown again: nothing');
  const alice = applyEvent(unknown, writer(H[5], 105, { actor: 'alice', reason: 'reimage' })).state;
  t.same(alice.holds?.get(H[5])?.writer, { actor: 'alice', reason: 'reimage' }, 'unknown, then found');
  t.ok(alice.revision > unknown.revision);
  t.equal(applyEvent(alice, writer(H[5], 105, { actor: 'alice', reason: 'reimage' })).state, alice, 'the same writer read again: nothing');
  const bob = applyEvent(alice, writer(H[5], 105, { actor: 'bob', reason: 'reimage' })).state;
  t.same(bob.holds?.get(H[5])?.writer, { actor: 'bob', reason: 'reimage' }, 'another actor');
  const why = applyEvent(bob, writer(H[5], 105, { actor: 'bob', reason: 'disk' })).state;
  t.same(why.holds?.get(H[5])?.writer, { actor: 'bob', reason: 'disk' }, 'another reason');
  const gone = applyEvent(why, writer(H[5], 105, null)).state;
  t.equal(gone.holds?.get(H[5])?.writer, null, 'a known writer, then none');
  t.ok(gone.revision > why.revision);
});

t.test('R2: one tick\'s admin changes by revision first, then by name; no revision counts as 0', async (t) => {
  const order = orderAdminChanges([
    { host: 'cp1001', revision: 9 },
    { host: 'cp1003', revision: 7 },
    { host: 'cp1002', revision: 7 },
    { host: 'cp1004' },
  ]);
  t.same(order.map((c) => c.host), ['cp1004', 'cp1002', 'cp1003', 'cp1001']);
});

t.test('serving, as poolctl\'s guard counts it: enabled, pooled, up and weighted', async (t) => {
  const s = { pooledAdmin: 'yes' as Pooled, pooled: true, up: true, weight: 10 };
  t.equal(serves(s), true);
  t.equal(serves({ ...s, pooledAdmin: 'no' }), false, 'admin no, though still pooled');
  t.equal(serves({ ...s, pooledAdmin: 'inactive' }), false);
  t.equal(serves({ ...s, pooled: false }), false);
  t.equal(serves({ ...s, up: false }), false);
  t.equal(serves({ ...s, weight: 0 }), false, 'drained');
});
