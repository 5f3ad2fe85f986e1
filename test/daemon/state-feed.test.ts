// The published states' two feeds (src/daemon/watch-state.ts): the watch, and the leader's own commits.
// Both are ordered by the key's etcd revision, so the instance that leads serves its publication at
// once, the watch's echo of it is neither decoded nor applied again, and neither feed ever steps back
// over a newer copy (a put or a delete) the other brought. Real view, data and problem tracking.
import t from 'tap';
import pino from 'pino';
import { PoolView } from '../../src/api/state-view.js';
import { PoolMetrics } from '../../src/api/metrics.js';
import { DaemonData } from '../../src/daemon/data.js';
import { ServiceProblems } from '../../src/daemon/service-problems.js';
import { stateFeed } from '../../src/daemon/watch-state.js';
import { applyEvents, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import type { PoolState } from '../../src/model/types.js';
import { decodePoolState } from '../../src/store/decode.js';
import { Keys } from '../../src/store/keys.js';
import { adminAll, KEY, service } from '../model/coordinator-fixtures.js';
import { splitForm } from '../helpers/published.js';

/** A state as the leader's instance serves it at commit: what readers decode from the value written (a fresh object). */
const served = (s: PoolState): PoolState => decodePoolState(`/poold/v1/state/${s.dc}/${s.name}`, JSON.stringify(s), s);

const HOSTS = ['kube1001.eqiad.wmnet', 'kube1002.eqiad.wmnet', 'kube1003.eqiad.wmnet'];
const PATH = `${KEY.dc}/${KEY.name}`;

/** Successive publications of one section, as the leader builds them: r1 all pooled, r2 one depooled, r3 two. */
function publications(): PoolState[] {
  const def = service(HOSTS, 0.3);
  let tr = createCoordinator({ at: 1, service: def, admin: adminAll(HOSTS) });
  const out = [effectiveState(tr.state)];
  for (const host of HOSTS.slice(0, 2)) {
    tr = applyEvents(tr.state, [{ type: 'adminChanged', at: 2, host, value: { weight: 10, pooled: 'no' } }]);
    out.push(effectiveState(tr.state));
  }
  return out;
}

function setup(logLines?: string[]) {
  const keys = new Keys();
  const data = new DaemonData();
  const view = new PoolView({ metrics: new PoolMetrics() });
  const problems = new ServiceProblems({ data, view, scope: '', otherScopes: new Set(), drift: () => [] });
  const log = logLines === undefined ? pino({ level: 'silent' }) : pino({ level: 'error' }, { write: (line: string) => void logLines.push(line) });
  const feed = stateFeed({ keys, data, view, problems, log, inScope: () => true, metrics: new PoolMetrics() });
  const key = keys.state(KEY);
  const pooled = () => Object.entries(view.get(KEY)?.state?.servers ?? {}).filter(([, s]) => s.pooled).map(([h]) => h);
  // One watch batch per call (the mirror calls settled() after each batch).
  const w = {
    upsert: (k: string, v: string, rev: number, listed: boolean) => { feed.handlers.upsert(k, v, rev, listed); feed.handlers.settled!(); },
    remove: (k: string, rev?: number) => { feed.handlers.remove(k, rev); feed.handlers.settled!(); },
  };
  return { feed, w, data, view, key, keys, pooled };
}

t.test('a committed state is served at once, and its watch echo is not decoded again', async (t) => {
  const { feed, w, data, view, key, pooled } = setup();
  const [r1, r2] = publications();
  w.upsert(key, JSON.stringify(r1), 10, true);
  t.same(pooled(), HOSTS, 'listed: all pooled');
  const committed = served(r2!);
  feed.committed(committed, 11);
  t.equal(view.get(KEY)?.state, committed, 'the view serves the committed state before any watch event');
  t.equal(data.states.get(PATH), committed, 'and the daemon starts checks from it');
  // The echo at the same revision: were it decoded, this unusable value would be reported as corrupt.
  w.upsert(key, '{not json', 11, false);
  t.equal(view.get(KEY)?.state, committed, 'the echo changes nothing');
  t.equal(data.corrupt.size, 0, 'and was not decoded');
});

t.test('a late commit answer never steps back over a newer watch copy', async (t) => {
  const { feed, w, view, key, pooled } = setup();
  const [r1, r2, r3] = publications();
  w.upsert(key, JSON.stringify(r1), 10, true);
  w.upsert(key, JSON.stringify(r3), 12, false);
  feed.committed(served(r2!), 11);
  t.same(pooled(), [HOSTS[2]], 'the newer copy (revision 12) stays');
  t.equal(view.get(KEY)?.state?.revision, r3!.revision);
});

t.test('after a commit, a newer watch copy is applied', async (t) => {
  const { feed, w, key, pooled } = setup();
  const [r1, r2, r3] = publications();
  w.upsert(key, JSON.stringify(r1), 10, true);
  feed.committed(served(r2!), 11);
  w.upsert(key, JSON.stringify(r3), 12, false);
  t.same(pooled(), [HOSTS[2]]);
});

t.test('a commit answer older than a delete does not bring the state back', async (t) => {
  const { feed, w, data, key } = setup();
  const [r1, r2] = publications();
  w.upsert(key, JSON.stringify(r1), 10, true);
  w.remove(key, 12);
  feed.committed(served(r2!), 11);
  t.notOk(data.states.has(PATH), 'deleted at 12: the answer for 11 is dropped');
  // Removed by a re-list (revision unknown): no commit answer applies until the watch brings the key back.
  w.remove(key);
  feed.committed(served(publications()[2]!), 99);
  t.notOk(data.states.has(PATH), 'no answer after a re-list removal');
  w.upsert(key, JSON.stringify(r2), 100, false);
  t.ok(data.states.has(PATH), 'the watch brings it back');
});

t.test('a commit over a value another tool corrupted clears the problem, as the watch copy would', async (t) => {
  const { feed, w, data, key, pooled } = setup();
  const [r1, r2] = publications();
  w.upsert(key, JSON.stringify(r1), 10, true);
  w.upsert(key, '{"dc": "eqiad", "name": "cxserver", "servers": 12}', 11, false);
  t.ok(data.corrupt.has(key), 'the corrupt value is reported');
  t.same(pooled(), HOSTS, 'the last good state is kept');
  feed.committed(served(r2!), 12);
  t.notOk(data.corrupt.has(key), 'the new publication clears it');
  t.same(pooled(), HOSTS.slice(1));
});

/** One watch batch (a put per value, a delete per null), then settled(), as the mirror delivers it. */
function batch(feed: ReturnType<typeof setup>['feed'], events: [string, string | null, number][], listed = false): void {
  for (const [k, v, rev] of events) {
    if (v === null) feed.handlers.remove(k, rev);
    else feed.handlers.upsert(k, v, rev, listed);
  }
  feed.handlers.settled!();
}

/** `state` in the split form as one batch at `rev`: its server keys, then its header (the leader's order). */
function splitBatch(f: ReturnType<typeof setup>, state: PoolState, rev: number, listed = false): void {
  const a = splitForm(state);
  batch(f.feed, [...a.servers.map(([h, v]): [string, string, number] => [f.keys.stateServer(KEY, h), v, rev]), [f.key, a.header, rev]], listed);
}

t.test('split form: a state is applied with its header, in one batch with its server keys', async (t) => {
  const f = setup();
  const [r1, r2] = publications();
  splitBatch(f, r1!, 10, true);
  t.same(f.pooled(), HOSTS, 'listed: all pooled');
  splitBatch(f, r2!, 11);
  t.same(f.pooled(), HOSTS.slice(1), 'the next publication');
  t.equal(f.data.states.get(PATH)?.revision, r2!.revision);
  t.equal(f.data.corrupt.size, 0);
});

t.test('split form: a server key deleted by another tool makes the state corrupt, and the last good one stays', async (t) => {
  const f = setup();
  const [r1, r2] = publications();
  splitBatch(f, r1!, 10, true);
  // Deleted in a batch of its own: a change without its header.
  batch(f.feed, [[f.keys.stateServer(KEY, HOSTS[2]!), null, 11]]);
  t.match(f.data.corrupt.get(f.key)?.message, /server keys changed after their header, without one.*kube1003/, 'reported, naming the server');
  // The next header still counts three servers: two keys are left.
  batch(f.feed, [[f.key, splitForm(r2!).header, 12]]);
  t.match(f.data.corrupt.get(f.key)?.message, /"hosts" says 3 servers, but 2 server keys/, 'reported, with the counts');
  t.same(f.pooled(), HOSTS, 'the last good state is kept');
});

t.test('split form: deleting the header removes the state; its server keys alone do not bring it back', async (t) => {
  const f = setup();
  const [r1] = publications();
  splitBatch(f, r1!, 10, true);
  batch(f.feed, [[f.key, null, 11]]);
  t.notOk(f.data.states.has(PATH), 'removed with its header');
  batch(f.feed, [[f.keys.stateServer(KEY, HOSTS[0]!), splitForm(r1!).servers[0]![1], 12]]);
  t.notOk(f.data.states.has(PATH), 'server keys without a header are ignored');
});

t.test('split form: server keys changed without their header (another tool) make the state corrupt, the last good one stays', async (t) => {
  const f = setup();
  const [r1, r2] = publications();
  splitBatch(f, r1!, 10, true);
  // Another tool puts r2's value of one server, with no header: a batch of its own.
  const changed = splitForm(r2!).servers.find(([h]) => h === HOSTS[0])!;
  batch(f.feed, [[f.keys.stateServer(KEY, changed[0]), changed[1], 11]]);
  t.match(f.data.corrupt.get(f.key)?.message, /server keys changed after their header, without one.*kube1001/, 'reported, naming the server');
  t.same(f.pooled(), HOSTS, 'the last good state is kept: never a state the leader did not publish');
  // The leader's next publication (a header at a later revision) makes it whole again.
  batch(f.feed, [[f.key, splitForm(r2!).header, 12]]);
  t.notOk(f.data.corrupt.has(f.key), 'cleared by the next header');
  t.same(f.pooled(), HOSTS.slice(1));
});

t.test("the leader's own write, back through the watch before its commit answer, is served as written, not decoded", async (t) => {
  const f = setup();
  const [r1, r2, r3] = publications();
  splitBatch(f, r1!, 10, true);
  const held = f.view.get(KEY)!.state!;
  const events: string[] = [];
  f.view.events.subscribe((e) => { if (e.type === 'state') events.push(e.host); });
  const mine = served(r2!);
  // The leader says which host changed since the state held; the view then looks at that one only.
  f.feed.produced({ state: mine, header: splitForm(r2!).header, changes: { previous: held, hosts: [HOSTS[0]!] } });
  splitBatch(f, r2!, 11);
  t.equal(f.view.get(KEY)?.state, mine, "the watch's copy is the produced state itself (not a decoded one)");
  t.equal(f.data.states.get(PATH), mine);
  t.same(events, [HOSTS[0]], 'one state event, for the changed host');
  f.feed.committed(mine, 11);
  t.equal(f.view.get(KEY)?.state, mine, 'the commit answer after it changes nothing');
  t.same(events, [HOSTS[0]], 'and emits nothing');

  // Produced, but the watch brings another header: decoded as usual.
  const other = served(r3!);
  f.feed.produced({ state: other, header: `${splitForm(r3!).header} `, changes: { previous: mine, hosts: [HOSTS[1]!] } });
  splitBatch(f, r3!, 12);
  t.not(f.view.get(KEY)?.state, other, 'not the same bytes: not taken for the produced state');
  t.same(f.pooled(), [HOSTS[2]], 'the decoded state is served');
});

t.test("the leader's own header with another tool's server write after it is a corrupt state, not the produced one", async (t) => {
  const f = setup();
  const [r1, r2] = publications();
  splitBatch(f, r1!, 10, true);
  const mine = served(r2!);
  const a = splitForm(r2!);
  f.feed.produced({ state: mine, header: a.header });
  // One watch batch: the leader's transaction at 11, then another tool's write of a server key at 12.
  batch(f.feed, [...a.servers.map(([h, v]): [string, string, number] => [f.keys.stateServer(KEY, h), v, 11]), [f.key, a.header, 11], [f.keys.stateServer(KEY, HOSTS[2]!), '{"x":1}', 12]]);
  t.match(f.data.corrupt.get(f.key)?.message, /server keys changed after their header, without one.*kube1003/, 'reported');
  t.not(f.view.get(KEY)?.state, mine, 'the produced state is not served over a foreign write');
  t.same(f.pooled(), HOSTS, 'the last good state stays');
});

t.test('a view given the changed hosts relative to a state it does not hold compares them all', async (t) => {
  const f = setup();
  const [r1, r2, r3] = publications();
  splitBatch(f, r1!, 10, true);
  const events: string[] = [];
  f.view.events.subscribe((e) => { if (e.type === 'state') events.push(e.host); });
  // The hint is relative to r2, but the view holds r1: r3 differs from r1 in two hosts.
  const mine = served(r3!);
  f.feed.produced({ state: mine, header: splitForm(r3!).header, changes: { previous: served(r2!), hosts: [HOSTS[1]!] } });
  splitBatch(f, r3!, 12);
  t.equal(f.view.get(KEY)?.state, mine);
  t.same(events.sort(), HOSTS.slice(0, 2), 'both changed hosts have their event');
});

t.test('a newer etcd copy with a lower coordinator revision: the view keeps the older one, and says so', async (t) => {
  // A new leader's term restarts the coordinator's counter from the mirror, so etcd's order and the
  // counter can disagree; the mirror follows etcd, the view its counter (state-view.ts).
  const lines: string[] = [];
  const { w, data, view, key } = setup(lines);
  const [r1, r2, r3] = publications();
  w.upsert(key, JSON.stringify(r1), 10, true);
  w.upsert(key, JSON.stringify(r3), 12, false);
  t.same(lines, [], 'nothing to say while both orders agree');
  w.upsert(key, JSON.stringify(r2), 13, false);
  t.equal(view.get(KEY)?.state?.revision, r3!.revision, 'the view still serves the copy of etcd revision 12');
  t.equal(data.states.get(PATH)?.revision, r2!.revision, 'the mirror took etcd revision 13');
  t.equal(lines.length, 1, 'one error logged');
  t.match(JSON.parse(lines[0]!), { level: 50, service: PATH, refused: r2!.revision, serving: r3!.revision, msg: /the view refused a newer published state/ });
});
