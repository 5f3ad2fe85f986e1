// The pure hold logic (src/model/coordinator-hold.ts): admin depools from any writer are held when they
// would take an LVS service below its depool threshold; released in revision order as room appears;
// a force marker lets its own write through; a restart keeps what was held.
import t from 'tap';
import fc from 'fast-check';
import { applyEvent, applyEvents, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import { orderAdminChanges, serves } from '../../src/model/coordinator-hold.js';
import { requiredCount } from '../../src/model/coordinator-threshold.js';
import type { CoordinatorEvent, CoordinatorState } from '../../src/model/coordinator-types.js';
import type { ConftoolValue } from '../../src/model/types.js';
import { down, hostNames, pooledHosts, startPool, up } from './coordinator-fixtures.js';

const H = hostNames(10);
const no = (weight = 10): ConftoolValue => ({ weight, pooled: 'no' });

type AdminEvent = Extract<CoordinatorEvent, { type: 'adminChanged' }>;
function depool(host: string, revision: number, force?: string): AdminEvent {
  return { type: 'adminChanged', at: revision, host, value: no(), revision, ...(force !== undefined ? { force: { actor: force } } : {}) };
}

function held(state: CoordinatorState): string[] {
  return [...(state.holds ?? new Map())].filter(([, h]) => h.status === 'held').map(([host]) => host).sort();
}

t.test('a burst of 7 depools of a 10-host pool at .5: first come first depooled, the last 2 held', async (t) => {
  const start = startPool(H, 0.5).state;
  // Given out of revision order, as a watch batch might be assembled: the leader orders them (R2).
  const events = orderAdminChanges([6, 0, 3, 1, 5, 2, 4].map((i) => depool(H[i], 100 + i)));
  t.same(events.map((e) => e.host), H.slice(0, 7));
  const tr = applyEvents(start, events);
  t.same(held(tr.state), [H[5], H[6]]);
  t.same(pooledHosts(tr.state), [H[5], H[6], H[7], H[8], H[9]], 'exactly ceil(10 × .5) stay pooled');
  t.same(tr.effects.filter((e) => e.kind === 'adminHeld').map((e) => 'host' in e && e.host), [H[5], H[6]]);
  const eff = effectiveState(tr.state);
  t.match(eff.servers[H[5]], { pooled: true, pooledAdmin: 'yes', adminHold: { status: 'held', requested: 'no', revision: 105 } });
  t.equal(eff.servers[H[0]].adminHold, undefined);
  t.equal(eff.servers[H[0]].pooled, false);
});

t.test('released in revision order as room appears; a held host that stops serving leaves at once', async (t) => {
  let tr = applyEvents(startPool(H, 0.5).state, H.slice(0, 7).map((h, i) => depool(h, 100 + i)));
  t.same(held(tr.state), [H[5], H[6]]);
  // Repooling one depooled host makes room for exactly one: the older write (H5) goes.
  tr = applyEvent(tr.state, { type: 'adminChanged', at: 200, host: H[0], value: { weight: 10, pooled: 'yes' }, revision: 200 });
  t.same(held(tr.state), [H[6]]);
  t.same(tr.effects.filter((e) => e.kind === 'adminReleased').map((e) => 'host' in e && e.host), [H[5]]);
  t.same(pooledHosts(tr.state), [H[0], H[6], H[7], H[8], H[9]]);
  // A host that goes down no longer serves, so it leaves; H6, still held, keeps serving.
  tr = applyEvent(tr.state, down(H[6], 201));
  t.same(held(tr.state), [], 'a held host that stops serving is released (its depool costs nothing)');
  t.equal(tr.state.servers.get(H[6])!.pooled, false);
  // Then 4 serve and 5 are required: nobody is left to hold, and health decides the rest as PyBal does.
  tr = applyEvent(tr.state, up(H[6], 202));
  t.equal(tr.state.servers.get(H[6])!.pooled, false, 'admin no now applies');
});

t.test('a force marker releases its own write only; a later unforced depool is held again', async (t) => {
  let tr = applyEvents(startPool(H, 0.5).state, H.slice(0, 7).map((h, i) => depool(h, 100 + i)));
  // The marker of H6's write (same revision) arrives after the write was held.
  tr = applyEvent(tr.state, depool(H[6], 106, 'alice'));
  t.same(held(tr.state), [H[5]]);
  t.equal(tr.state.servers.get(H[6])!.pooled, false, 'forced: the depool went through below the threshold');
  t.match(effectiveState(tr.state).servers[H[6]].adminHold, { status: 'forced', revision: 106, writer: { actor: 'alice' } });
  // The host is repooled, then depooled again without a marker: held again.
  tr = applyEvent(tr.state, { type: 'adminChanged', at: 300, host: H[6], value: { weight: 10, pooled: 'yes' }, revision: 300 });
  t.equal(effectiveState(tr.state).servers[H[6]].adminHold, undefined, 'the forced mark ends with the next write');
  tr = applyEvent(tr.state, depool(H[6], 301));
  t.same(held(tr.state), [H[5], H[6]]);
});

t.test('the writer is recorded only for the held write it names', async (t) => {
  let tr = applyEvents(startPool(H, 0.5).state, H.slice(0, 7).map((h, i) => depool(h, 100 + i)));
  tr = applyEvent(tr.state, { type: 'adminWriter', at: 1, host: H[5], revision: 99, writer: { actor: 'stale' } });
  t.equal(effectiveState(tr.state).servers[H[5]].adminHold?.writer, undefined, 'another revision: ignored');
  const rev = tr.state.revision;
  tr = applyEvent(tr.state, { type: 'adminWriter', at: 1, host: H[5], revision: 105, writer: null });
  t.equal(effectiveState(tr.state).servers[H[5]].adminHold?.writer, null, 'no audit record: unknown writer');
  t.ok(tr.state.revision > rev, 'a new writer is a new state to publish');
});

t.test('a writer found for a held write is one new revision, not one more for each later no-op of the batch', async (t) => {
  const tr = applyEvents(startPool(H, 0.5).state, H.slice(0, 7).map((h, i) => depool(h, 100 + i)));
  const rev = tr.state.revision;
  const batch = applyEvents(tr.state, [
    { type: 'adminWriter', at: 5, host: H[5], revision: 105, writer: { actor: 'alice' } },
    { type: 'tick', at: 6 },
    { type: 'tick', at: 7 },
  ]);
  t.equal(effectiveState(batch.state).servers[H[5]].adminHold?.writer?.actor, 'alice');
  t.equal(batch.state.revision, rev + 1, 'one change, one revision');
  t.equal(batch.state.updatedAt, 5, 'stamped by the writer event, not by the ticks after it');
});

t.test('a restart (new leader) from the published state keeps the holds and replays a backlog', async (t) => {
  const svc = startPool(H, 0.5);
  const before = applyEvents(svc.state, H.slice(0, 3).map((h, i) => depool(h, 100 + i)));
  const published = effectiveState(before.state);
  // While nobody led, 4 more depools were written (revisions 103..106).
  const admin: Record<string, ConftoolValue> = Object.fromEntries(H.map((h, i) => [h, i < 7 ? no() : { weight: 10, pooled: 'yes' }]));
  const adminRevisions = Object.fromEntries(H.map((h, i) => [h, 100 + i]));
  const { service } = await import('./coordinator-fixtures.js');
  const tr = createCoordinator({ at: 500, service: service(H, 0.5), admin, previous: published, adminRevisions });
  t.same(held(tr.state), [H[5], H[6]], 'the backlog is judged in revision order');
  t.same(pooledHosts(tr.state), [H[5], H[6], H[7], H[8], H[9]]);
  // A second restart from that state changes nothing.
  const again = createCoordinator({ at: 600, service: service(H, 0.5), admin, previous: effectiveState(tr.state), adminRevisions });
  t.same(held(again.state), [H[5], H[6]]);
  t.equal(again.state.holds?.get(H[5])?.since, 500, 'the hold keeps its time');
  t.same(pooledHosts(again.state), pooledHosts(tr.state));
  // Without a previous state, conftool is the truth (nothing to compare with).
  const fresh = createCoordinator({ at: 0, service: service(H, 0.5), admin, adminRevisions });
  t.same(held(fresh.state), []);
});

t.test('invariants I1-I3 hold for random admin and health events', async (t) => {
  const hosts = hostNames(8);
  const ev = fc.oneof(
    fc.record({ k: fc.constant('admin' as const), i: fc.nat(7), pooled: fc.constantFrom('yes', 'no', 'no', 'inactive'), w: fc.constantFrom(0, 10, 10, 10), force: fc.boolean() }),
    fc.record({ k: fc.constant('health' as const), i: fc.nat(7), up: fc.boolean() }),
  );
  fc.assert(
    fc.property(fc.constantFrom(0.25, 0.5, 0.75, 1), fc.array(ev, { maxLength: 40 }), (threshold, events) => {
      let state = startPool(hosts, threshold).state;
      let rev = 1;
      for (const e of events) {
        const host = hosts[e.i];
        const servingBefore = [...state.servers.values()].filter(serves).length;
        const event: CoordinatorEvent = e.k === 'admin'
          ? { type: 'adminChanged', at: rev, host, revision: rev++, value: { weight: e.w, pooled: e.pooled as ConftoolValue['pooled'] }, force: e.force ? { actor: 'x' } : null }
          : { type: 'healthChanged', at: rev++, host, up: e.up, reason: 'r' };
        state = applyEvent(state, event).state;
        const all = [...state.servers.values()];
        const serving = all.filter(serves).length;
        const total = all.filter((s) => s.pooledAdmin !== 'inactive').length;
        const required = requiredCount(total, threshold);
        for (const [h, hold] of state.holds ?? []) {
          if (hold.status !== 'held') continue;
          const s = state.servers.get(h)!;
          // I1
          if (s.pooledAdmin !== 'yes' || hold.requested.pooled === 'yes') throw new Error(`I1: ${h} held but core has ${s.pooledAdmin}`);
          // I2: nothing held without need
          const totalAfter = total - (hold.requested.pooled === 'inactive' ? 1 : 0);
          if (!serves(s) || serving - 1 >= requiredCount(totalAfter, threshold)) throw new Error(`I2: ${h} held without need`);
        }
        // I3: an unforced depool never costs a serving host below the threshold
        if (e.k === 'admin' && !e.force && e.pooled !== 'yes' && serving < Math.min(servingBefore, required)) {
          throw new Error(`I3: serving ${servingBefore} -> ${serving}, required ${required}`);
        }
      }
    }),
    { numRuns: 300 },
  );
  t.pass('300 random histories');
});
