// The stalled-watch rule: a change etcd held at one probe and still undelivered at the next.
import t from 'tap';
import { WatchLagTracker, watchStaleCause } from '../../src/model/watch-stale.js';

t.test('an idle prefix is never stale, however long', async (t) => {
  const w = new WatchLagTracker();
  for (let i = 0; i < 10; i++) t.equal(w.observe({ watchRevision: 5, newestPending: null, nowMs: i * 1000 }).stale, false);
});

t.test('a change delivered before the next probe is not stale; one still pending is', async (t) => {
  const w = new WatchLagTracker();
  t.same(w.observe({ watchRevision: 5, newestPending: 7, nowMs: 0 }), { stale: false, lagRevisions: 2, lagMs: 0 });
  t.same(w.observe({ watchRevision: 7, newestPending: null, nowMs: 1000 }), { stale: false, lagRevisions: 0, lagMs: 0 });
  // A busy prefix whose watch keeps up: always something new pending, always delivered by the next probe.
  for (let i = 0; i < 5; i++) t.equal(w.observe({ watchRevision: 10 + i * 3, newestPending: 12 + i * 3, nowMs: 2000 + i * 1000 }).stale, false);
  const s = new WatchLagTracker();
  s.observe({ watchRevision: 5, newestPending: 7, nowMs: 0 });
  t.same(s.observe({ watchRevision: 5, newestPending: 9, nowMs: 1000 }), { stale: true, lagRevisions: 4, lagMs: 1000 });
  // Partly delivered is still behind what was pending a probe ago: stale, the age from the first sighting.
  t.same(s.observe({ watchRevision: 6, newestPending: 9, nowMs: 2000 }), { stale: true, lagRevisions: 3, lagMs: 2000 });
  t.same(s.observe({ watchRevision: 9, newestPending: null, nowMs: 3000 }), { stale: false, lagRevisions: 0, lagMs: 0 });
});

t.test('the WARNING names the watch, its prefix, the revision and the lag', async (t) => {
  t.equal(watchStaleCause('admin', '/conftool/v1/pools/', { stale: true, lagRevisions: 1, lagMs: 4500 }, 41).message,
    'etcd watch admin (/conftool/v1/pools/) stalled at revision 41: 1 revision behind etcd for 4s; re-establishing it');
});
