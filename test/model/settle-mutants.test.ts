// Behaviour of the settle step (coordinator-settle.ts) that mutation testing (test/model/MUTATION.md)
// showed no model test pinned: the counts behind the threshold, the Draft's change log (a write that
// changes nothing is not a change), its host order, the cause a depool is reported with, and that an
// event which changes nothing leaves the state as it was (no new revision to publish).
import t from 'tap';
import { applyEvent, createCoordinator } from '../../src/model/coordinator.js';
import { Draft, canDepool, thresholdNumbers } from '../../src/model/coordinator-settle.js';
import type { CoordinatorEffect, ServerState } from '../../src/model/coordinator-types.js';
import type { Pooled } from '../../src/model/types.js';
import { adminAll, down, hostNames, service, startPool } from './coordinator-fixtures.js';

function server(host: string, pooledAdmin: Pooled, up: boolean, pooled: boolean): ServerState {
  return {
    host, pooledAdmin, registered: pooledAdmin !== 'inactive', defined: true, weight: 10, up, checked: true,
    pooled, reason: up ? 'ok' : 'refused', since: 0, flapping: false, findings: [],
  };
}

t.test('thresholdNumbers counts total, enabled, up-and-enabled and pooled separately', async (t) => {
  const servers = [
    server('a', 'yes', true, true),
    server('b', 'yes', false, true), // pooled and down: kept by the threshold
    server('c', 'yes', false, false),
    server('d', 'no', true, false),
    server('e', 'inactive', true, false), // not a member: not in total
  ];
  t.same(thresholdNumbers(servers, 0.5), { upEnabled: 1, total: 4, threshold: 0.5, required: 2, pooled: 2, enabled: 3 });
  t.same(thresholdNumbers([], 0.5), { upEnabled: 0, total: 0, threshold: 0.5, required: 0, pooled: 0, enabled: 0 });
  // canDepool: another down server may leave when up-and-enabled reaches the requirement.
  t.equal(canDepool(servers, 0.25), true, '1 up-and-enabled of ceil(4 x .25) = 1');
  t.equal(canDepool(servers, 0.5), false, '1 up-and-enabled of ceil(4 x .5) = 2');
});

t.test('a Draft records only real changes, and lists hosts in name order', async (t) => {
  const a = server('a', 'yes', true, true);
  const c = server('c', 'yes', true, true);
  const d = new Draft(new Map([['a', a], ['c', c]]), 0.5);
  d.set('a', a); // the same object again: nothing changed
  t.same([...d.takeChanges().keys()], [], 'writing back the current version is not a change');
  t.same(d.numbers(), { upEnabled: 2, total: 2, threshold: 0.5, required: 1, pooled: 2, enabled: 2 }, 'and the counts are not moved');
  d.set('b', server('b', 'yes', true, false));
  t.same(d.hosts(), ['a', 'b', 'c'], 'an added host is listed in name order');
  const changes = d.takeChanges();
  t.same([...changes.keys()], ['b']);
  t.equal(changes.get('b'), undefined, 'b did not exist before');
  d.settle(['b']);
  t.equal(d.get('b')?.pooled, true, 'settling pools the up, enabled newcomer');
  t.same([...d.finish().keys()], ['a', 'b', 'c']);
});

function depooledCause(effects: readonly CoordinatorEffect[], host: string): string | undefined {
  const e = effects.find((x) => x.kind === 'depooled' && x.host === host);
  return e !== undefined && e.kind === 'depooled' ? e.cause : undefined;
}

t.test('a depool names its cause: down, admin or removed', async (t) => {
  const H = hostNames(4);
  const [A, B] = H;
  const s0 = startPool(H, 0.5).state;
  t.equal(depooledCause(applyEvent(s0, down(A)).effects, A), 'down', 'an enabled server that went down');
  const admin = applyEvent(s0, { type: 'adminChanged', at: 1, host: B, value: { weight: 10, pooled: 'no' } });
  t.equal(depooledCause(admin.effects, B), 'admin', 'a server set to pooled=no');
  // A host in conftool but not in the definition: deleting its conftool entry removes it from the pool.
  const extra = 'zz1001.eqiad.wmnet';
  const started = createCoordinator({ at: 0, service: service(H, 0.5), admin: adminAll([...H, extra]) }).state;
  t.equal(started.servers.get(extra)?.pooled, true, 'precondition: the undefined host serves');
  const removed = applyEvent(started, { type: 'adminChanged', at: 1, host: extra, value: null });
  t.equal(depooledCause(removed.effects, extra), 'removed');
  t.ok(removed.effects.some((e) => e.kind === 'serverRemoved' && e.host === extra), 'and it is reported removed');
});

t.test('an event that changes nothing leaves the state as it was', async (t) => {
  const H = hostNames(3);
  const [A, B] = H;
  // B is set to pooled=no; A is up and pooled. Health that repeats what is known changes nothing.
  let s = startPool(H, 0.5).state;
  s = applyEvent(s, { type: 'adminChanged', at: 1, host: B, value: { weight: 10, pooled: 'no' } }).state;
  s = applyEvent(s, { type: 'healthChanged', at: 2, host: A, up: true, reason: 'ok' }).state;
  s = applyEvent(s, { type: 'healthChanged', at: 3, host: B, up: true, reason: 'ok' }).state;
  for (const host of [A, B]) {
    const again = applyEvent(s, { type: 'healthChanged', at: 9, host, up: true, reason: 'ok' });
    t.equal(again.state, s, `repeated health of ${host}: the very same state (nothing to publish)`);
    t.equal(again.state.revision, s.revision);
    t.same(again.effects, []);
  }
});
