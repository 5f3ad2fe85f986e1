// The coordinator's servers (src/model/server-map.ts): an immutable map in host-name order whose
// versions with the same hosts share one index, so a change copies an array of pointers and two
// versions are compared without a lookup per host. And the Draft over it (coordinator-settle.ts),
// which starts from the counters of the draft that finished its map instead of counting it again.
import t from 'tap';
import { ServerMap } from '../../src/model/server-map.js';
import { Draft } from '../../src/model/coordinator-settle.js';
import type { ServerState } from '../../src/model/coordinator-types.js';
import type { Pooled } from '../../src/model/types.js';

function server(host: string, pooledAdmin: Pooled = 'yes', up = true, pooled = true): ServerState {
  return {
    host, pooledAdmin, registered: pooledAdmin !== 'inactive', defined: true, weight: 10, up, checked: true,
    pooled, reason: up ? 'ok' : 'refused', since: 0, flapping: false, findings: [],
  };
}

t.test('from: host-name (code-unit) order, the last state of a host given twice, and every read agrees', async (t) => {
  const a9 = server('a9'), a10 = server('a10'), B = server('B'), b = server('b'), b2 = server('b', 'no');
  const m = ServerMap.from([['b', b], ['a9', a9], ['B', B], ['a10', a10], ['b', b2]]);
  t.same([...m.keys()], ['B', 'a10', 'a9', 'b'], 'code-unit order, never locale or numeric');
  t.equal(m.size, 4);
  t.equal(m.get('b'), b2, 'a host given twice keeps its last state');
  t.equal(m.get('nope'), undefined);
  t.equal(m.has('a9'), true);
  t.equal(m.has('nope'), false);
  t.same([...m.values()], [B, a10, a9, b2]);
  t.same([...m.entries()], [['B', B], ['a10', a10], ['a9', a9], ['b', b2]]);
  t.same([...m], [...m.entries()], 'iterating is entries()');
  const seen: string[] = [];
  m.forEach(function (this: unknown, s, host, map) {
    t.equal(s, m.get(host));
    t.equal(map, m);
    t.equal(this, 'ctx', 'forEach passes thisArg');
    seen.push(host);
  }, 'ctx');
  t.same(seen, ['B', 'a10', 'a9', 'b']);
  t.equal(Object.prototype.toString.call(m), '[object ServerMap]');
  t.same(new Map(m), new Map([['B', B], ['a10', a10], ['a9', a9], ['b', b2]]), 'a Map can be made from it');
});

t.test('of: a ServerMap as it is; any other map converted, in order', async (t) => {
  const m = ServerMap.from([['x', server('x')]]);
  t.equal(ServerMap.of(m), m, 'no copy');
  const plain = new Map([['z', server('z')], ['y', server('y')]]);
  const c = ServerMap.of(plain);
  t.not(c, plain);
  t.same([...c.keys()], ['y', 'z']);
});

t.test('with: replacing keeps the index and says exactly which changed; the original is untouched', async (t) => {
  const hosts = ['h1', 'h2', 'h3', 'h4'];
  const m = ServerMap.from(hosts.map((h) => [h, server(h)]));
  const h2 = server('h2', 'no', true, false);
  const h4 = server('h4', 'yes', false, true);
  const n = m.with(new Map([['h4', h4], ['h2', h2]]));
  t.not(n, m);
  t.equal(n.get('h2'), h2);
  t.equal(n.get('h4'), h4);
  t.equal(m.get('h2')?.pooledAdmin, 'yes', 'the original map still has the old state');
  t.same(n.changedSince(m), ['h2', 'h4'], 'the changed hosts, in name order');
  t.same(m.changedSince(n), ['h2', 'h4'], 'either way round');
  t.same(n.changedSince(n), [], 'a map against itself: nothing');
  const o = n.with(new Map([['h1', server('h1')]]));
  t.same(o.changedSince(m), ['h1', 'h2', 'h4'], 'versions two changes apart still share the index');
  t.same(o.with(new Map([['h3', m.get('h3')!]])).changedSince(o), [], 'the same state object again is no change');
  t.equal(m.with(new Map()), m, 'no changes: the map itself');
  t.equal(m.with(new Map([['absent', null]])), m, 'removing a host that is not there: the map itself');
});

t.test('with: adding or removing hosts makes a new order, and versions are no longer compared by index', async (t) => {
  const m = ServerMap.from(['b', 'd'].map((h) => [h, server(h)]));
  const added = m.with(new Map([['c', server('c')], ['a', server('a')]]));
  t.same([...added.keys()], ['a', 'b', 'c', 'd'], 'added hosts take their place in name order');
  t.equal(added.get('b'), m.get('b'), 'the others keep their state objects');
  t.equal(added.changedSince(m), null, 'other hosts: the caller must compare host by host');
  const removed = added.with(new Map([['b', null], ['c', server('c', 'no')]]));
  t.same([...removed.keys()], ['a', 'c', 'd']);
  t.equal(removed.get('c')?.pooledAdmin, 'no', 'a change beside a removal is applied');
  t.equal(removed.has('b'), false);
  t.equal(removed.changedSince(added), null);
  const other = ServerMap.from(['b', 'd'].map((h) => [h, m.get(h)!]));
  t.equal(other.changedSince(m), null, 'the same hosts in maps made apart: compared host by host too');
});

t.test('a Draft over a finished map starts from the counters its draft kept, as counting gives them', async (t) => {
  const start = new Map([
    ['a', server('a')],
    ['b', server('b', 'yes', false, true)], // pooled and down
    ['c', server('c', 'yes', false, false)],
    ['d', server('d', 'no', true, false)],
    ['e', server('e', 'inactive', true, false)],
  ]);
  const d1 = new Draft(start, 0.5);
  d1.set('a', server('a', 'yes', false, true)); // down now, still pooled
  d1.set('c', server('c', 'yes', true, true));
  d1.set('e', undefined);
  d1.set('f', server('f', 'no', false, false));
  const finished = d1.finish();
  const fromTally = new Draft(finished, 0.5);
  const counted = new Draft(new Map(finished), 0.5); // a plain Map: counted server by server
  t.same(fromTally.numbers(), counted.numbers(), 'the same counts');
  t.same(fromTally.numbers(), { upEnabled: 1, total: 5, threshold: 0.5, required: 3, pooled: 3, enabled: 3 }, 'and they are right');
  t.same(fromTally.pooledDownSorted(), counted.pooledDownSorted(), 'the same pooled-down hosts');
  t.same(fromTally.pooledDownSorted(), ['a', 'b']);
  // A second generation: the memo follows the map, not the draft.
  fromTally.set('b', server('b', 'yes', true, true));
  const again = fromTally.finish();
  t.same(new Draft(again, 0.5).numbers(), new Draft(new Map(again), 0.5).numbers(), 'a map finished from a remembered tally is counted alike');
  t.same(new Draft(again, 0.5).pooledDownSorted(), ['a']);
  t.equal(new Draft(finished, 0.5).pooledDownSorted().length, 2, 'a later draft does not change the earlier map\'s tally');
});

t.test('a Draft: a host added then removed leaves the map as it was; hosts and the force-pool walk are in name order', async (t) => {
  const base = ServerMap.from(['b', 'd'].map((h) => [h, server(h)]));
  const d = new Draft(base, 0.5);
  d.set('c', server('c'));
  t.same(d.hosts(), ['b', 'c', 'd']);
  d.set('c', undefined);
  t.same(d.hosts(), ['b', 'd']);
  const m = d.finish();
  t.equal(m, base, 'nothing changed: the same map');
  t.same([...m.keys()], ['b', 'd']);
  // Step 4 force-pools enabled servers by host name, an added one included: four down, threshold 1.
  const down = (h: string) => server(h, 'yes', false, false);
  const f = new Draft(ServerMap.from(['b', 'd'].map((h) => [h, down(h)])), 1);
  f.set('a', down('a'));
  f.set('c', down('c'));
  f.settle(f.hosts());
  t.same(f.pooledDownSorted(), ['a', 'b', 'c', 'd'], 'all forced into the pool, the added ones too');
  const g = new Draft(ServerMap.from(['b', 'd', 'e'].map((h) => [h, down(h)])), 0.5);
  g.set('a', down('a'));
  g.settle(g.hosts());
  t.same(g.pooledDownSorted(), ['a', 'b'], 'ceil(4 x .5) = 2: the first two by name, the added one first');
  // A host removed in the draft is skipped by the walk over the base's hosts.
  const r = new Draft(ServerMap.from(['a', 'b', 'c'].map((h) => [h, down(h)])), 1);
  r.set('b', undefined);
  r.settle(r.hosts());
  t.same(r.pooledDownSorted(), ['a', 'c'], 'the removed host is not walked, the others are forced in');
  t.same([...r.finish().keys()], ['a', 'c']);
});
