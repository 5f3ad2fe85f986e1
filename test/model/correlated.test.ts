// Issue 14 item 3 in the pure model: a correlated failure is a large share of servers failing the same
// check with down times within one window (interval + timeout).
import t from 'tap';
import { correlatedFailure, describeCorrelated } from '../../src/model/correlated.js';
import type { CheckDef } from '../../src/model/types.js';

const info = { kind: 'http', name: 'info', urls: ['/_info'], intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1 } as unknown as CheckDef;
const tcp = { kind: 'tcp', name: 'tcp', intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1 } as unknown as CheckDef;
const fail = (n: number, spacing: number, checks = ['info']) => Array.from({ length: n }, (_, i) => ({ host: `h${i}`, checks, since: 10_000 + i * spacing }));

t.test('8 of 10 fail one check within one interval: correlated, with the text ops read', async (t) => {
  const c = correlatedFailure({ checks: [info, tcp], share: 0.5, total: 10, failing: fail(8, 100) });
  t.match(c, { check: 'info', label: 'http /_info', failed: 8, total: 10, share: 0.5 });
  t.equal(describeCorrelated('eqiad/foo_80', c!),
    'eqiad/foo_80: correlated failure: 8 of 10 servers failed check http /_info within 1 interval; likely the check or a shared dependency, not the servers');
});

t.test('the same failures spread over time are not correlated (window: 1.5 intervals)', async (t) => {
  t.equal(correlatedFailure({ checks: [info], share: 0.5, total: 10, failing: fail(8, 1000) }), undefined);
  t.match(correlatedFailure({ checks: [info], share: 0.5, total: 10, failing: fail(8, 200) }), { failed: 8, windowMs: 1500 }, '8 within 1.4 s');
});

t.test('below the share, or failing different checks, is not correlated', async (t) => {
  t.equal(correlatedFailure({ checks: [info], share: 0.5, total: 10, failing: fail(4, 10) }), undefined);
  const mixed = [...fail(3, 10, ['info']), ...fail(3, 10, ['tcp']).map((s) => ({ ...s, host: `x${s.host}` }))];
  t.equal(correlatedFailure({ checks: [info, tcp], share: 0.5, total: 10, failing: mixed }), undefined);
  t.ok(correlatedFailure({ checks: [info], share: 0.3, total: 10, failing: fail(3, 10) }), 'a lower share, per service, catches 3 of 10');
});

t.test('fewer than three servers are never a correlated failure', async (t) => {
  t.equal(correlatedFailure({ checks: [info], share: 0.5, total: 2, failing: fail(2, 0) }), undefined);
  t.equal(correlatedFailure({ checks: [info], share: 0.5, total: 4, failing: fail(2, 0) }), undefined);
  t.ok(correlatedFailure({ checks: [info], share: 0.5, total: 4, failing: fail(3, 0) }));
});
