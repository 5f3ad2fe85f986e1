// Issue 14 item 5 in the pure model: health depools wait for every server's first verdict (or the
// start timeout); issue 14 item 3: a freeze holds them back until it ends by time or is lifted.
import t from 'tap';
import { applyEvent, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import { defaultFirstRoundTimeoutMs, describeFirstRound } from '../../src/model/first-verdict.js';
import { makeFreeze, FreezeInputError, MAX_FREEZE_MS } from '../../src/model/coordinator-freeze.js';
import type { CoordinatorEvent } from '../../src/model/coordinator-types.js';
import { adminAll, down, hostNames, pooledHosts, run, service, up } from './coordinator-fixtures.js';

const H = hostNames(4);
const [A, B, C, D] = H;
const start = (timeoutMs: number) => createCoordinator({ at: 0, service: service(H, 0.5), admin: adminAll(H), firstRoundTimeoutMs: timeoutMs });
const tick = (at: number): CoordinatorEvent => ({ type: 'tick', at });

t.test('a partial first round depools nothing; the last first verdict lets the threshold act', async (t) => {
  let tr = start(10_000);
  t.same(tr.state.firstRound?.waiting, H);
  t.equal(describeFirstRound(tr.state.firstRound!), 'pending 4 of 4');
  // The failing servers answer first: without the gate both would be depooled (2 assumed up >= 2).
  tr = run(tr.state, [down(A, 100), down(B, 110)]);
  t.same(pooledHosts(tr.state), H, 'nothing depooled on a partial picture');
  t.equal(effectiveState(tr.state).firstRound?.waiting.length, 2);
  tr = applyEvent(tr.state, up(C, 200));
  t.same(pooledHosts(tr.state), H);
  tr = applyEvent(tr.state, up(D, 300));
  t.equal(tr.state.firstRound, undefined, 'round over');
  t.same(pooledHosts(tr.state), [C, D], 'full picture: 2 up of 4 >= ceil(4 × .5), both down ones leave');
});

t.test('a leader built after the fast failures arrived depools nothing on them either', async (t) => {
  // The observer's first verdicts (two refusals, instant) reach etcd before this instance is elected:
  // the coordinator starts with them. The two others are still unchecked.
  const refused = { up: false, reason: 'refused', at: 0 };
  let tr = createCoordinator({ at: 0, service: service(H, 0.5), admin: adminAll(H), health: { [A]: refused, [B]: refused }, firstRoundTimeoutMs: 10_000 });
  t.same(pooledHosts(tr.state), H, 'the unfinished round keeps them pooled, as if they had been assumed up');
  t.same(tr.state.firstRound?.waiting, [C, D]);
  tr = run(tr.state, [up(C, 200), up(D, 300)]);
  t.same(pooledHosts(tr.state), [C, D], 'full picture: the threshold lets both go');
  // Without the gate (start_timeout 0s) the threshold acts on the start's picture at once.
  const open = createCoordinator({ at: 0, service: service(H, 0.5), admin: adminAll(H), health: { [A]: refused, [B]: refused } });
  t.same(pooledHosts(open.state), [C, D]);
});

t.test('the full picture can keep what the partial one would have dropped', async (t) => {
  let tr = start(10_000);
  tr = run(tr.state, [down(A, 100), down(B, 110), down(C, 400), up(D, 500)]);
  // 1 up of 4 < 2: the threshold keeps every down server; none was dropped early.
  t.same(pooledHosts(tr.state), H);
  t.same(tr.state.pooledDown, [A, B, C]);
});

t.test('the start timeout ends the round: a tick at the deadline applies the threshold', async (t) => {
  let tr = start(5000);
  tr = run(tr.state, [down(A, 100), down(B, 110)]);
  t.same(pooledHosts(tr.state), H);
  tr = applyEvent(tr.state, tick(4999));
  t.same(pooledHosts(tr.state), H, 'not yet');
  const rev = tr.state.revision;
  tr = applyEvent(tr.state, tick(5000));
  t.equal(tr.state.firstRound, undefined);
  t.same(pooledHosts(tr.state), [C, D]);
  t.ok(tr.state.revision > rev, 'a new revision to publish');
});

t.test('verdicts that do not cover the checks are not first verdicts; the previous state is not one either', async (t) => {
  let tr = start(10_000);
  tr = applyEvent(tr.state, { type: 'healthChanged', host: A, up: false, reason: 'x', at: 1, complete: false });
  t.same(tr.state.firstRound?.waiting, H);
  const again = createCoordinator({ at: 0, service: service(H, 0.5), admin: adminAll(H), previous: effectiveState(tr.state), firstRoundTimeoutMs: 10_000 });
  t.same(again.state.firstRound?.waiting, H, 'a restart waits for fresh verdicts');
  const fresh = createCoordinator({
    at: 0, service: service(H, 0.5), admin: adminAll(H), firstRoundTimeoutMs: 10_000,
    health: Object.fromEntries(H.map((h) => [h, { up: true, reason: 'ok', at: 0 }])),
  });
  t.equal(fresh.state.firstRound, undefined, 'live observations at start are first verdicts');
});

t.test('a host added to the pool during a round joins it; without a timeout there is no gate', async (t) => {
  let tr = start(10_000);
  tr = applyEvent(tr.state, { type: 'adminChanged', host: 'new1', value: { weight: 1, pooled: 'yes' }, at: 5, firstRoundTimeoutMs: 10_000 });
  t.ok(tr.state.firstRound?.waiting.includes('new1'));
  t.equal(tr.state.firstRound?.total, 5);
  const open = createCoordinator({ at: 0, service: service(H, 0.5), admin: adminAll(H) });
  t.equal(open.state.firstRound, undefined);
  t.same(pooledHosts(applyEvent(open.state, down(A)).state), [B, C, D], 'no gate: the old behaviour');
});

t.test('default start timeout is 2 × (fall × interval + timeout) of the slowest check', async (t) => {
  const def = { checks: [{ fall: 3, intervalMs: 1000, timeoutMs: 5000 }, { fall: 1, intervalMs: 10_000, timeoutMs: 1000 }] } as Parameters<typeof defaultFirstRoundTimeoutMs>[0];
  t.equal(defaultFirstRoundTimeoutMs(def), 22_000);
});

t.test('a freeze keeps failing servers pooled until it ends; admin changes still apply', async (t) => {
  let tr = createCoordinator({ at: 0, service: service(H, 0.25), admin: adminAll(H) });
  const freeze = makeFreeze({ now: 1000, durationMs: 5000, durationText: '5s', actor: 'alice', reason: 'check page slow' });
  tr = applyEvent(tr.state, { type: 'freezeChanged', at: 1000, freeze });
  t.same(effectiveState(tr.state).freeze, freeze);
  tr = run(tr.state, [down(A, 1100), down(B, 1100), down(C, 1200)]);
  t.same(pooledHosts(tr.state), H, 'every host stays pooled while frozen');
  // A (down, kept pooled only by the freeze) does not serve, so its admin depool is not held either
  // (coordinator-hold.ts): it applies at once. (Depooling D, the one serving host, would be held.)
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: 10, pooled: 'no' }, at: 1300 });
  t.same(pooledHosts(tr.state), [B, C, D], 'an admin depool applies during a freeze');
  tr = applyEvent(tr.state, { type: 'adminChanged', host: D, value: { weight: 10, pooled: 'no' }, at: 1350 });
  t.same(pooledHosts(tr.state), [B, C, D], 'the depool of the last serving host is held, freeze or not');
  t.equal(tr.state.holds?.get(D)?.status, 'held');
  tr = applyEvent(tr.state, { type: 'adminChanged', host: D, value: { weight: 10, pooled: 'yes' }, at: 1400 });
  tr = applyEvent(tr.state, { type: 'adminChanged', host: A, value: { weight: 10, pooled: 'yes' }, at: 1400 });
  tr = applyEvent(tr.state, tick(6000));
  t.equal(tr.state.freeze, undefined, 'expired');
  t.same(pooledHosts(tr.state), [D], 'threshold rules again: 1 up of 4 >= ceil(4 × .25)');
});

t.test('unfreeze (freezeChanged null) ends it early', async (t) => {
  let tr = createCoordinator({ at: 0, service: service(H, 0.25), admin: adminAll(H) });
  tr = applyEvent(tr.state, { type: 'freezeChanged', at: 0, freeze: makeFreeze({ now: 0, durationMs: 60_000, durationText: '1m', actor: 'a', reason: 'r' }) });
  tr = run(tr.state, [down(A, 10), down(B, 10)]);
  t.same(pooledHosts(tr.state), H);
  tr = applyEvent(tr.state, { type: 'freezeChanged', at: 20, freeze: null });
  t.same(pooledHosts(tr.state), [C, D]);
});

t.test('freeze input: bad duration, too long, missing reason', async (t) => {
  const base = { now: 0, actor: 'a', reason: 'r' };
  t.throws(() => makeFreeze({ ...base, durationMs: null, durationText: 'soon' }), FreezeInputError);
  t.throws(() => makeFreeze({ ...base, durationMs: MAX_FREEZE_MS + 1, durationText: '25h' }), /at most 24h/);
  t.throws(() => makeFreeze({ ...base, durationMs: 60_000, durationText: '1m', reason: '  ' }), /--reason/);
  t.equal(makeFreeze({ ...base, durationMs: 60_000, durationText: '1m' }).until, 60_000);
});
