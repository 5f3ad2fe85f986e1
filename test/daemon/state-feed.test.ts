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
import { asDecodedPoolState } from '../../src/store/decode.js';
import { Keys } from '../../src/store/keys.js';
import { adminAll, KEY, service } from '../model/coordinator-fixtures.js';

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

function setup() {
  const keys = new Keys();
  const data = new DaemonData();
  const view = new PoolView({ metrics: new PoolMetrics() });
  const problems = new ServiceProblems({ data, view, scope: '', otherScopes: new Set(), drift: () => [] });
  const log = pino({ level: 'silent' });
  const feed = stateFeed({ keys, data, view, problems, log, inScope: () => true, metrics: new PoolMetrics() });
  const key = keys.state(KEY);
  const pooled = () => Object.entries(view.get(KEY)?.state?.servers ?? {}).filter(([, s]) => s.pooled).map(([h]) => h);
  return { feed, data, view, key, pooled };
}

t.test('a committed state is served at once, and its watch echo is not decoded again', async (t) => {
  const { feed, data, view, key, pooled } = setup();
  const [r1, r2] = publications();
  feed.handlers.upsert(key, JSON.stringify(r1), 10, true);
  t.same(pooled(), HOSTS, 'listed: all pooled');
  const served = asDecodedPoolState(r2!);
  feed.committed(served, 11);
  t.equal(view.get(KEY)?.state, served, 'the view serves the committed state before any watch event');
  t.equal(data.states.get(PATH), served, 'and the daemon starts checks from it');
  // The echo at the same revision: were it decoded, this unusable value would be reported as corrupt.
  feed.handlers.upsert(key, '{not json', 11, false);
  t.equal(view.get(KEY)?.state, served, 'the echo changes nothing');
  t.equal(data.corrupt.size, 0, 'and was not decoded');
});

t.test('a late commit answer never steps back over a newer watch copy', async (t) => {
  const { feed, view, key, pooled } = setup();
  const [r1, r2, r3] = publications();
  feed.handlers.upsert(key, JSON.stringify(r1), 10, true);
  feed.handlers.upsert(key, JSON.stringify(r3), 12, false);
  feed.committed(asDecodedPoolState(r2!), 11);
  t.same(pooled(), [HOSTS[2]], 'the newer copy (revision 12) stays');
  t.equal(view.get(KEY)?.state?.revision, r3!.revision);
});

t.test('after a commit, a newer watch copy is applied', async (t) => {
  const { feed, key, pooled } = setup();
  const [r1, r2, r3] = publications();
  feed.handlers.upsert(key, JSON.stringify(r1), 10, true);
  feed.committed(asDecodedPoolState(r2!), 11);
  feed.handlers.upsert(key, JSON.stringify(r3), 12, false);
  t.same(pooled(), [HOSTS[2]]);
});

t.test('a commit answer older than a delete does not bring the state back', async (t) => {
  const { feed, data, key } = setup();
  const [r1, r2] = publications();
  feed.handlers.upsert(key, JSON.stringify(r1), 10, true);
  feed.handlers.remove(key, 12);
  feed.committed(asDecodedPoolState(r2!), 11);
  t.notOk(data.states.has(PATH), 'deleted at 12: the answer for 11 is dropped');
  // Removed by a re-list (revision unknown): no commit answer applies until the watch brings the key back.
  feed.handlers.remove(key);
  feed.committed(asDecodedPoolState(publications()[2]!), 99);
  t.notOk(data.states.has(PATH), 'no answer after a re-list removal');
  feed.handlers.upsert(key, JSON.stringify(r2), 100, false);
  t.ok(data.states.has(PATH), 'the watch brings it back');
});

t.test('a commit over a value another tool corrupted clears the problem, as the watch copy would', async (t) => {
  const { feed, data, key, pooled } = setup();
  const [r1, r2] = publications();
  feed.handlers.upsert(key, JSON.stringify(r1), 10, true);
  feed.handlers.upsert(key, '{"dc": "eqiad", "name": "cxserver", "servers": 12}', 11, false);
  t.ok(data.corrupt.has(key), 'the corrupt value is reported');
  t.same(pooled(), HOSTS, 'the last good state is kept');
  feed.committed(asDecodedPoolState(r2!), 12);
  t.notOk(data.corrupt.has(key), 'the new publication clears it');
  t.same(pooled(), HOSTS.slice(1));
});
