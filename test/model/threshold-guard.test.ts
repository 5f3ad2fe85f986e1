import t from 'tap';
import { guardDepool, refusalError, servingView } from '../../src/model/threshold-guard.js';
import { NotFoundError, SafetyRefusal, UsageError } from '../../src/model/errors.js';
import fc from 'fast-check';
import { applyEvent, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import type { ConftoolValue, Pooled } from '../../src/model/types.js';
import { down, run, service, startPool } from './coordinator-fixtures.js';

const H = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet', 'sca1004.eqiad.wmnet'];
const KEY = { label: 'eqiad/sca/cxserver' };
const admin = (pooled: ConftoolValue['pooled'][]): Record<string, ConftoolValue> =>
  Object.fromEntries(H.map((h, i) => [h, { weight: 10, pooled: pooled[i] }]));

t.test('without health data, admin-pooled hosts count', async (t) => {
  const pool = { ...KEY, depoolThreshold: 0.5, admin: admin(['yes', 'yes', 'no', 'no']) };
  const r = guardDepool(pool, [H[0]]);
  t.match(r, { ok: false, basis: 'admin', servingBefore: 2, servingAfter: 1, total: 4, required: 2 });
  t.equal(
    r.ok ? '' : r.message,
    'refusing: depooling sca1001.eqiad.wmnet would leave 1 of 4 hosts serving in eqiad/sca/cxserver; the threshold 0.5 needs at least 2. Use --force to override.',
  );
  const ok = guardDepool({ ...pool, admin: admin(['yes', 'yes', 'yes', 'no']) }, [H[0]]);
  t.match(ok, { ok: true, servingAfter: 2, required: 2 });
});

t.test('with health data, only pooled and up hosts serve', async (t) => {
  // Two hosts down: one depooled, ... 4 at .5: A, B down → both depooled; C, D serve.
  const tr = run(startPool(H, 0.5).state, [down(H[0]), down(H[1])]);
  const health = { ...effectiveState(tr.state), ...KEY };
  const pool = { ...KEY, depoolThreshold: 0.5, admin: admin(['yes', 'yes', 'yes', 'yes']) };
  const r = guardDepool(pool, [H[2]], { health: servingView(health) });
  t.match(r, { ok: false, basis: 'health', servingBefore: 2, servingAfter: 1, total: 4, required: 2 });
  // Without health the same depool looks fine: that is why health wins when it exists.
  t.match(guardDepool(pool, [H[2]]), { ok: true, basis: 'admin' });
  // Depooling a down host never reduces serving: always allowed.
  t.match(guardDepool(pool, [H[0], H[1]], { health: servingView(health) }), { ok: true, servingBefore: 2, servingAfter: 2 });
});

t.test('several hosts, and decommissioning shrinks the total', async (t) => {
  const pool = { ...KEY, depoolThreshold: 0.5, admin: admin(['yes', 'yes', 'yes', 'yes']) };
  const r = guardDepool(pool, [H[0], H[1], H[2]]);
  t.equal(
    r.ok ? '' : r.message,
    'refusing: depooling sca1001.eqiad.wmnet, sca1002.eqiad.wmnet, sca1003.eqiad.wmnet would leave 1 of 4 hosts serving in eqiad/sca/cxserver; the threshold 0.5 needs at least 2. Use --force to override.',
  );
  // Decommissioning two of four: total 2, 2 × .5 = 1 needed, 2 left.
  t.match(guardDepool(pool, [H[0], H[1]], { to: 'inactive' }), { ok: true, total: 2, required: 1, servingAfter: 2 });
  const d = guardDepool(pool, [H[0], H[1], H[2]], { to: 'inactive' });
  t.match(d, { ok: true, total: 1, required: 1, servingAfter: 1 });
  const d2 = guardDepool({ ...pool, depoolThreshold: 1 }, [H[0]], { to: 'inactive', health: null });
  t.match(d2, { ok: true, total: 3, required: 3, servingAfter: 3 });
  const d3 = guardDepool({ ...pool, admin: admin(['yes', 'yes', 'yes', 'no']), depoolThreshold: 1 }, [H[0]], { to: 'inactive' });
  t.equal(d3.ok ? '' : d3.message, 'refusing: decommissioning sca1001.eqiad.wmnet would leave 2 of 3 hosts serving in eqiad/sca/cxserver; the threshold 1 needs at least 3. Use --force to override.');
});

t.test('drained hosts (weight 0) do not serve; draining is guarded like depooling', async (t) => {
  const pool = { ...KEY, depoolThreshold: 0.5, admin: { ...admin(['yes', 'yes', 'yes', 'no']), [H[2]]: { weight: 0, pooled: 'yes' as const } } };
  const r = guardDepool(pool, [H[0]], { to: 'drain' });
  t.match(r, { ok: false, servingBefore: 2, servingAfter: 1, total: 4, required: 2 });
  t.equal(
    r.ok ? '' : r.message,
    'refusing: draining sca1001.eqiad.wmnet would leave 1 of 4 hosts serving in eqiad/sca/cxserver; the threshold 0.5 needs at least 2. Use --force to override.',
  );
  t.match(guardDepool(pool, [H[2]]), { ok: true, servingBefore: 2, servingAfter: 2 }, 'depooling a drained host is always fine');
});

t.test('a host the published state does not know yet counts by its admin state (assumed up)', async (t) => {
  const tr = run(startPool(H.slice(0, 3), 0.5).state, [down(H[0])]);
  const health = effectiveState(tr.state);
  const pool = { ...KEY, depoolThreshold: 0.5, admin: admin(['yes', 'yes', 'yes', 'yes']) };
  t.match(guardDepool(pool, [H[1]], { health: servingView(health) }), { ok: true, servingBefore: 3, servingAfter: 2, required: 2 });
});

t.test('threshold arithmetic matches PyBal floats (100 × 0.07 = 7.000000000000001 needs 8)', async (t) => {
  const hosts = Array.from({ length: 100 }, (_, i) => `h${String(i).padStart(3, '0')}`);
  const pool = { ...KEY, depoolThreshold: 0.07, admin: Object.fromEntries(hosts.map((h, i) => [h, { weight: 1, pooled: i < 8 ? 'yes' : 'no' } as ConftoolValue])) };
  // PyBal: 7 >= 100 * 0.07 is False in Python 2.7, so 7 left serving is not enough.
  t.match(guardDepool(pool, ['h000']), { ok: false, required: 8, servingAfter: 7 });
});

t.test('bad input: unknown hosts, nothing to depool, bad threshold', async (t) => {
  const pool = { ...KEY, depoolThreshold: 0.5, admin: admin(['yes', 'yes', 'yes', 'yes']) };
  t.throws(() => guardDepool(pool, ['nope']), NotFoundError);
  t.throws(() => guardDepool(pool, ['constructor']), NotFoundError, 'inherited keys are not hosts');
  t.throws(() => guardDepool(pool, ['nope', 'nada']), { message: 'nope, nada are not in eqiad/sca/cxserver' });
  t.throws(() => guardDepool(pool, []), UsageError);
  t.throws(() => guardDepool({ ...pool, depoolThreshold: 2 }, [H[0]]), { message: 'eqiad/sca/cxserver: depool threshold must be in [0, 1], got 2' });
});

t.test('refusalError is a SafetyRefusal carrying the numbers', async (t) => {
  const r = guardDepool({ ...KEY, depoolThreshold: 1, admin: admin(['yes', 'yes', 'yes', 'yes']) }, [H[3]]);
  if (r.ok) throw new Error('expected a refusal');
  const e = refusalError(r);
  t.ok(e instanceof SafetyRefusal);
  t.equal(e.message, r.message);
  t.match(e.context, { pool: 'eqiad/sca/cxserver', servingAfter: 3, required: 4, hosts: [H[3]] });
});

t.test('the guard counts exactly what the coordinator will serve after the depool', async (t) => {
  const names = Array.from({ length: 12 }, (_, i) => `h${String(i).padStart(2, '0')}`);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.constantFrom(0, 0.3, 0.5, 0.75, 1),
      fc.array(fc.record({ pooled: fc.constantFrom<Pooled>('yes', 'yes', 'no', 'inactive'), weight: fc.constantFrom(0, 10, 10) }), { minLength: 12, maxLength: 12 }),
      fc.array(fc.record({ i: fc.nat(11), up: fc.boolean() }), { maxLength: 20 }),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      (n, threshold, values, healthFlips, pick) => {
        const hosts = names.slice(0, n);
        const adminValues = Object.fromEntries(hosts.map((h, i) => [h, { ...values[i] }]));
        let tr = createCoordinator({ at: 0, service: service(hosts, threshold), admin: adminValues });
        for (const f of healthFlips) tr = applyEvent(tr.state, { type: 'healthChanged', host: hosts[f.i % n], up: f.up, reason: 'x', at: 1 });
        const leaving = hosts.filter((_, i) => pick[i]);
        if (leaving.length === 0) return;
        const g = guardDepool({ ...KEY, depoolThreshold: threshold, admin: adminValues }, leaving, { health: servingView(effectiveState(tr.state)) });
        // Forced (as poolctl --force writes it), the coordinator applies every depool: compare the arithmetic.
        let after = tr;
        for (const h of leaving) after = applyEvent(after.state, { type: 'adminChanged', host: h, value: { ...adminValues[h], pooled: 'no' }, at: 2, force: { actor: 'op' } });
        const serving = [...after.state.servers.values()].filter((s) => s.pooled && s.up && s.weight > 0).length;
        // Unforced, a depool the guard allows is never held by the coordinator (coordinator-hold.ts).
        let unforced = tr;
        for (const h of leaving) unforced = applyEvent(unforced.state, { type: 'adminChanged', host: h, value: { ...adminValues[h], pooled: 'no' }, at: 2 });
        const held = [...(unforced.state.holds ?? new Map()).values()].filter((x) => x.status === 'held').length;
        // (Writing `no` over an `inactive` host puts it back in the coordinator's total, which the guard
        // does not count: leave that case out of the comparison.)
        const reactivates = leaving.some((h) => adminValues[h].pooled === 'inactive');
        if (!reactivates && g.ok && held > 0) throw new Error(`guard allowed the depool but the coordinator held ${held}`);
        if (!reactivates && !g.ok && held === 0) throw new Error('guard refused the depool but the coordinator held nothing');
        if (serving !== g.servingAfter) throw new Error(`guard says ${g.servingAfter} serving after, coordinator has ${serving}`);
        if (g.ok && serving < g.required && g.servingAfter < g.servingBefore) throw new Error('guard allowed a depool below the threshold');
        if (!g.ok && serving >= g.required) throw new Error('guard refused a safe depool');
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random pools');
});
