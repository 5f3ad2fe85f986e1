// Behaviour of the guard, the observers' quorum and the check hysteresis that mutation testing
// (npm run test:mutation, test/model/MUTATION.md) showed the other model tests would not notice if it broke.
import t from 'tap';
import { guardDepool, servingView } from '../../src/model/threshold-guard.js';
import { decideHealth, QuorumInputError, type QuorumObservation } from '../../src/model/quorum.js';
import { alertsText, computeAlerts, flappingCause, foldAlerts, type AlertCause } from '../../src/model/alerts.js';
import { applyResult, flappingEnabled, initialHealth, reconfigure, type HealthState, type HysteresisConfig } from '../../src/model/hysteresis.js';
import { effectiveState } from '../../src/model/coordinator.js';
import type { ConftoolValue, Finding } from '../../src/model/types.js';
import { down, run, startPool } from './coordinator-fixtures.js';

const H = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet', 'sca1004.eqiad.wmnet'];
const LABEL = 'LVS service eqiad/cxserver (pool sca/cxserver)';
const allYes = (): Record<string, ConftoolValue> => Object.fromEntries(H.map((h) => [h, { weight: 10, pooled: 'yes' as const }]));

// ---- threshold guard ----

t.test('guard: a dead host may always leave a pool already below its threshold', async (t) => {
  // 4 at .75 needs 3 serving; A and B are down, so only C and D serve: the pool is already below.
  const tr = run(startPool(H, 0.75).state, [down(H[0], 1), down(H[1], 2)]);
  const health = effectiveState(tr.state);
  t.same(health.pooledDown, [H[1]], 'B is kept pooled by the threshold');
  const pool = { label: LABEL, depoolThreshold: 0.75, admin: allYes() };
  const r = guardDepool(pool, [H[1]], { health: servingView(health) });
  t.match(r, { ok: true, basis: 'health', servingBefore: 2, servingAfter: 2, total: 4, required: 3 });
  t.match(guardDepool(pool, [H[0], H[1]], { health: servingView(health) }), { ok: true, servingAfter: 2 });
  // A serving host may not: that would make it worse.
  const refused = guardDepool(pool, [H[2]], { health: servingView(health) });
  t.match(refused, { ok: false, servingBefore: 2, servingAfter: 1, required: 3 });
  // Nor a dead host together with a serving one.
  t.match(guardDepool(pool, [H[1], H[2]], { health: servingView(health) }), { ok: false, servingAfter: 1 });
});

t.test('guard: exactly at the line is allowed, one below is refused', async (t) => {
  const pool = { label: LABEL, depoolThreshold: 0.5, admin: allYes() };
  t.match(guardDepool(pool, [H[0], H[1]]), { ok: true, servingAfter: 2, required: 2 });
  t.match(guardDepool(pool, [H[0], H[1], H[2]]), { ok: false, servingAfter: 1, required: 2 });
  // Threshold 0 never refuses; 1 refuses any serving host.
  t.match(guardDepool({ ...pool, depoolThreshold: 0 }, H), { ok: true, servingAfter: 0, required: 0 });
  t.match(guardDepool({ ...pool, depoolThreshold: 1 }, [H[3]]), { ok: false, servingAfter: 3, required: 4 });
});

t.test('guard: a host the published state has pooled but down, or up but not pooled, does not serve', async (t) => {
  const base = effectiveState(startPool(H, 0.5).state);
  const health = {
    ...base,
    servers: {
      ...base.servers,
      [H[0]]: { ...base.servers[H[0]], up: false, pooled: true },
      [H[1]]: { ...base.servers[H[1]], up: true, pooled: false },
    },
  };
  const pool = { label: LABEL, depoolThreshold: 0.5, admin: allYes() };
  t.match(guardDepool(pool, [H[2]], { health: servingView(health) }), { ok: false, servingBefore: 2, servingAfter: 1 });
  t.match(guardDepool(pool, [H[0], H[1]], { health: servingView(health) }), { ok: true, servingBefore: 2, servingAfter: 2 });
});

t.test('guard: disabled and inactive hosts do not serve; inactive ones are not in the total', async (t) => {
  const admin: Record<string, ConftoolValue> = {
    [H[0]]: { weight: 10, pooled: 'yes' },
    [H[1]]: { weight: 10, pooled: 'yes' },
    [H[2]]: { weight: 10, pooled: 'no' },
    [H[3]]: { weight: 10, pooled: 'inactive' },
  };
  const pool = { label: LABEL, depoolThreshold: 0.6, admin };
  // total 3 (inactive excluded), ceil(1.8) = 2 needed, 2 serving.
  t.match(guardDepool(pool, [H[2]]), { ok: true, total: 3, required: 2, servingBefore: 2, servingAfter: 2 });
  t.match(guardDepool(pool, [H[0]]), { ok: false, total: 3, required: 2, servingAfter: 1 });
  t.throws(() => guardDepool({ ...pool, depoolThreshold: -0.5 }, [H[0]]), { name: 'UsageError', message: /depool threshold must be in \[0, 1\]/ });
  t.throws(() => guardDepool({ ...pool, depoolThreshold: 1.5 }, [H[0]]), { name: 'UsageError' });
  t.throws(() => guardDepool(pool, ['nope1', 'nope2']), { name: 'NotFoundError', message: /nope1, nope2 are not in/ });
  t.throws(() => guardDepool(pool, ['nope1']), { name: 'NotFoundError', message: /nope1 is not in/ });
});

// ---- quorum ----

const obs = (observer: string, up: boolean, at = 10, extra: Partial<QuorumObservation> = {}): QuorumObservation => ({
  observer,
  up,
  reason: up ? 'ok' : 'refused',
  at,
  ...extra,
});

t.test('quorum: observations older than maxAgeMs do not vote; exactly maxAgeMs old still does', async (t) => {
  const live = ['a', 'b', 'c'];
  // Two stale down votes would outvote the fresh up one.
  const list = [obs('a', false, 50), obs('b', false, 50), obs('c', true, 100)];
  t.match(decideHealth(list, live, undefined, { now: 100, maxAgeMs: 49 }), { up: true, upVotes: ['c'], downVotes: [], needed: 1 });
  t.match(decideHealth(list, live, undefined, { now: 100, maxAgeMs: 50 }), { up: false, downVotes: ['a', 'b'] }, 'at the edge they vote');
  t.match(decideHealth(list, live), { up: false }, 'without maxAgeMs every live observation votes');
  t.match(decideHealth(list, live, undefined, { now: 100 }), { up: false }, 'now alone does not filter');
  t.match(decideHealth(list, live, undefined, { maxAgeMs: 1 }), { up: false }, 'maxAgeMs alone does not filter');
  // All stale: nothing to decide; the previous verdict is kept.
  const prev = { up: true, reason: 'ok', at: 7 };
  t.match(decideHealth([obs('a', false, 1)], live, prev, { now: 100, maxAgeMs: 10 }), { up: true, decided: false, reason: 'ok', code: 'ok', at: 7 });
  t.equal(decideHealth([obs('a', false, 1)], live, undefined, { now: 100, maxAgeMs: 10 }), null);
});

t.test('quorum: flapping when any voter sees it flap, never from a non-voter', async (t) => {
  const live = ['a', 'b', 'c'];
  t.equal(decideHealth([obs('a', true), obs('b', true), obs('c', true, 10, { flapping: true })], live)?.flapping, true, 'one of three is enough');
  t.equal(decideHealth([obs('a', true), obs('b', true, 10, { flapping: false }), obs('c', true)], live)?.flapping, false, 'nobody flaps');
  t.equal(decideHealth([obs('a', true), obs('dead', true, 10, { flapping: true })], live)?.flapping, false, 'a dead observer does not count');
  t.equal(
    decideHealth([obs('a', true, 1, { flapping: true }), obs('a', true, 2, { flapping: false })], live)?.flapping,
    false,
    'only the latest observation of an observer counts',
  );
  t.equal(
    decideHealth([obs('a', true, 1, { flapping: true })], live, undefined, { now: 100, maxAgeMs: 10 }),
    null,
    'a stale flapping observation does not count',
  );
});

t.test('quorum: fail-static keeps what was known, and defaults what was not', async (t) => {
  t.same(decideHealth([], ['a'], { up: false, reason: 'refused' }), {
    up: false,
    reason: 'refused',
    code: 'error',
    at: 0,
    flapping: false,
    findings: [],
    decided: false,
    upVotes: [],
    downVotes: [],
    needed: 0,
  });
  const f = { code: 'unclosed' as const, message: 'x', severity: 'warning' as const };
  t.match(decideHealth([], ['a'], { up: true, reason: 'ok', flapping: true, findings: [f], code: 'ok', at: 3 }), {
    up: true,
    code: 'ok',
    flapping: true,
    findings: [f],
    at: 3,
  });
});

t.test('quorum: a down verdict carries the first down code, else error; the time is the latest vote', async (t) => {
  const live = ['a', 'b', 'c'];
  const v = decideHealth([obs('a', false, 3), obs('b', false, 9, { code: 'reset' }), obs('c', false, 5, { code: 'refused' })], live);
  t.match(v, { up: false, code: 'reset', at: 9, reason: 'refused' });
  t.match(decideHealth([obs('a', false, 3), obs('b', false, 4)], live), { up: false, code: 'error', at: 4 });
  t.match(decideHealth([obs('a', true, 3, { code: 'ok' }), obs('b', true, 8)], live), { up: true, code: 'ok', at: 8 });
});

t.test('quorum: findings of every voter and every check, deduplicated, checks in name order', async (t) => {
  const fa = { code: 'unclosed' as const, message: 'no close', severity: 'warning' as const };
  const fb = { code: 'tls_error' as const, message: 'expires soon', severity: 'critical' as const };
  const fc2 = { code: 'unclosed' as const, message: 'no close', severity: 'critical' as const };
  const check = (findings: Finding[]) => ({ up: true, code: 'ok' as const, message: 'ok', timings: { totalMs: 1 }, findings });
  const v = decideHealth(
    [
      obs('a', true, 1, { checks: { zz: check([fa]), aa: check([fb]) } }),
      obs('b', true, 1, { checks: { http: check([fa, fc2]) } }),
      obs('dead', true, 1, { checks: { http: check([{ ...fa, message: 'from the dead' }]) } }),
    ],
    ['a', 'b'],
  );
  t.same(v?.findings, [fb, fa, fc2]);
});

// ---- hysteresis ----

const ids = { host: 'sca1001.eqiad.wmnet', check: 'http' };
const ok = { up: true, code: 'ok' as const, message: 'status 200' };
const bad = { up: false, code: 'status' as const, message: 'status 503' };

function feed(seq: string, cfg: HysteresisConfig, start: HealthState = initialHealth(true, 0), stepMs = 1000) {
  let s = start;
  const types: string[] = [];
  [...seq].forEach((c, i) => {
    const r = applyResult(s, cfg, ids, c === '+' ? ok : bad, (i + 1) * stepMs);
    s = r.state;
    types.push(...r.events.map((e) => e.type));
  });
  return { final: s, types };
}

t.test('hysteresis: transitions 0 disables flapping even with a window, and windowMs 0 even with transitions', async (t) => {
  t.equal(flappingEnabled({ transitions: 0, windowMs: 600_000 }), false);
  t.equal(flappingEnabled({ transitions: 3, windowMs: 0 }), false);
  t.equal(flappingEnabled({ transitions: 1, windowMs: 1 }), true);
  for (const flapping of [{ transitions: 0, windowMs: 600_000 }, { transitions: 3, windowMs: 0 }, { transitions: -1, windowMs: 600_000 }]) {
    const { final, types } = feed('-+-+-+-+-+', { rise: 1, fall: 1, flapping });
    t.equal(final.flapping, false, JSON.stringify(flapping));
    t.equal(final.flappingReason, '');
    t.notOk(types.includes('flapping_started'));
    t.same(final.transitions, []);
  }
});

t.test('hysteresis: flapping starts at exactly N transitions in the window and names them', async (t) => {
  const cfg = { rise: 1, fall: 1, flapping: { transitions: 3, windowMs: 10_000 } };
  const two = feed('-+', cfg);
  t.equal(two.final.flapping, false, '2 of 3');
  const three = feed('-+-', cfg);
  t.equal(three.final.flapping, true, '3 of 3');
  t.equal(three.final.flappingReason, 'flapping: 3 transitions in 10s');
  t.same(three.types, ['first_failure', 'went_down', 'came_up', 'first_failure', 'went_down', 'flapping_started']);
  // A fourth keeps it flapping with the count updated, without a second start event.
  const four = feed('-+-+', cfg);
  t.equal(four.final.flappingReason, 'flapping: 4 transitions in 10s');
  t.equal(four.types.filter((x) => x === 'flapping_started').length, 1);
  // The window slides: a transition exactly windowMs old has left it.
  const r = reconfigure(three.final, cfg, ids, 1000 + 10_000);
  t.same(r.state.transitions, [2000, 3000]);
  t.equal(r.state.flapping, false);
  t.same(r.events.map((e) => [e.type, e.message]), [['flapping_stopped', 'flapping stopped: 2 transitions in 10s']]);
  const kept = reconfigure(three.final, cfg, ids, 1000 + 9_999);
  t.equal(kept.state.flapping, true, 'one millisecond earlier it is still inside');
  t.same(kept.events, []);
});

t.test('hysteresis: a result that is no transition still re-evaluates flapping (it can stop it)', async (t) => {
  const cfg = { rise: 1, fall: 1, flapping: { transitions: 2, windowMs: 5_000 } };
  const flap = feed('-+', cfg).final;
  t.equal(flap.flapping, true);
  const later = applyResult(flap, cfg, ids, ok, 60_000);
  t.equal(later.state.flapping, false);
  t.same(later.events.map((e) => e.type), ['flapping_stopped']);
  t.same(later.state.transitions, []);
});

t.test('hysteresis: reconfigure without remembered transitions changes nothing', async (t) => {
  const s = initialHealth(false, 0);
  const r = reconfigure(s, { rise: 1, fall: 1, flapping: { transitions: 1, windowMs: 1000 } }, ids, 5);
  t.equal(r.state, s);
  t.same(r.events, []);
});

t.test('guard: errors carry the pool and hosts; health null counts admin state', async (t) => {
  const pool = { label: LABEL, depoolThreshold: 0.5, admin: allYes() };
  t.throws(() => guardDepool(pool, []), { name: 'UsageError', message: `no hosts to depool in ${LABEL}`, context: { pool: LABEL } });
  t.throws(() => guardDepool({ ...pool, depoolThreshold: 2 }, [H[0]]), { name: 'UsageError', context: { pool: LABEL } });
  t.throws(() => guardDepool(pool, ['x1', H[0]]), { name: 'NotFoundError', context: { pool: LABEL, hosts: ['x1'] } });
  t.match(guardDepool(pool, [H[0]], { health: null }), { ok: true, basis: 'admin', servingBefore: 4 });
  t.match(guardDepool(pool, [H[0]]), { ok: true, basis: 'admin' });
  const refused = guardDepool(pool, [H[0], H[1], H[2]], {});
  t.match(refused, { ok: false, message: /^refusing: depooling / });
});

t.test('quorum: bad quorum settings name the value in the error context', async (t) => {
  for (const quorum of [0, -1, 1.5, '2']) {
    t.throws(() => decideHealth([], ['a'], undefined, { quorum: quorum as never }), { name: 'QuorumInputError', context: { quorum } }, String(quorum));
  }
  t.throws(() => decideHealth([], ['a'], undefined, { quorum: '2' as never }), QuorumInputError);
});

t.test('quorum: several dissenters are listed, comma-separated', async (t) => {
  const live = ['a', 'b', 'c', 'd', 'e'];
  const up = decideHealth([obs('a', true), obs('b', true), obs('c', true), obs('d', false), obs('e', false)], live);
  t.equal(up?.reason, 'ok (up on 3 of 5 observers; dissenting: d: refused, e: refused)');
  const dn = decideHealth([obs('a', true), obs('b', true), obs('c', false), obs('d', false), obs('e', false)], live);
  t.equal(dn?.reason, 'refused (2 of 5 observers see it up, 3 needed; dissenting: a, b)');
});

t.test('quorum: a check without findings (an older observer) contributes none', async (t) => {
  const f = { code: 'unclosed' as const, message: 'no close', severity: 'warning' as const };
  const v = decideHealth(
    [
      obs('a', true, 1, { checks: { http: { up: true, code: 'ok', message: 'ok', timings: { totalMs: 1 } } as never } }),
      obs('b', true, 1, { checks: { http: { up: true, code: 'ok', message: 'ok', timings: { totalMs: 1 }, findings: [f] } } }),
    ],
    ['a', 'b'],
  );
  t.same(v?.findings, [f]);
});

// ---- alerts ----

t.test('alerts: causes of pools without state are sorted in with the others; global causes come last', async (t) => {
  const zz = effectiveState(run(startPool(H.slice(0, 2), 1).state, [down(H[0])]).state);
  const crit = (pool: string | undefined, message: string): AlertCause => ({ pool, severity: 'critical', message });
  const r = computeAlerts([zz], [crit(undefined, 'no leader'), crit('aa', 'drift'), crit('zz', 'drift')], () => 'mm');
  t.equal(alertsText(r), `CRITICAL - aa: drift; mm: Servers ${H[0]} are marked down but pooled; zz: drift; no leader`);
  const warn = (pool: string | undefined, message: string): AlertCause => ({ pool, severity: 'warning', message });
  t.same(foldAlerts([], [warn(undefined, 'etcd unreachable for 5s'), warn('aa', 'state stale for 9s')]), {
    status: 'warning',
    msg: 'Pool aa state stale for 9s. etcd unreachable for 5s. ',
  });
  // foldAlerts without extra causes.
  t.same(foldAlerts([{ name: 'b', alert: { status: 'warning', message: 'Pool b is too small to allow depooling. ' } }]), {
    status: 'warning',
    msg: 'Pool b is too small to allow depooling. ',
  });
  t.same(foldAlerts([]), { status: 'ok', msg: 'All pools are healthy' });
});

t.test('alerts: flapping hosts are listed by name whatever the order of the state', async (t) => {
  const st = effectiveState(startPool(H, 0.5).state);
  const reversed = Object.fromEntries(
    Object.entries(st.servers)
      .reverse()
      .map(([h, s]) => [h, { ...s, flapping: h !== H[1] }]),
  );
  t.same(Object.keys(reversed)[0], H[3]);
  t.same(flappingCause({ ...st, servers: reversed }), { pool: 'cxserver', severity: 'critical', message: `Servers ${H[0]}, ${H[2]}, ${H[3]} are flapping` });
});
