// The v2 bridge's per-key decision (pure): one-sided changes copied verbatim, concurrent changes
// merged field by field with the authoritative side winning a field both changed, deletes, and
// properties: a one-sided field change always survives a merge, and a decision is a fixed point.
import t from 'tap';
import fc from 'fast-check';
import { decide } from '../../src/store/bridge-v2-merge.js';
import { pythonJsonDumps } from '../../src/store/conftool-value.js';

const X = '{"weight": 10, "pooled": "yes"}';

t.test('in sync, or one side changed: that side verbatim, both directions, puts, creates and deletes', async (t) => {
  t.same(decide(X, X, X, 'v2'), { target: X, reason: 'in-sync', conflicts: [] });
  t.same(decide(undefined, undefined, undefined, 'v2'), { target: undefined, reason: 'in-sync', conflicts: [] });
  const odd = '{"pooled": "no",   "weight": 10}'; // bytes nobody re-serializes: carried as they are
  t.same(decide(X, odd, X, 'v3'), { target: odd, reason: 'v2-changed', conflicts: [] });
  t.same(decide(X, X, odd, 'v2'), { target: odd, reason: 'v3-changed', conflicts: [] });
  t.same(decide(X, undefined, X, 'v3'), { target: undefined, reason: 'v2-changed', conflicts: [] }, 'delete in v2 reaches v3');
  t.same(decide(X, X, undefined, 'v2'), { target: undefined, reason: 'v3-changed', conflicts: [] }, 'delete in v3 reaches v2');
  t.same(decide(undefined, X, undefined, 'v3'), { target: X, reason: 'v2-changed', conflicts: [] }, 'create in v2 reaches v3');
  t.same(decide(undefined, undefined, X, 'v2'), { target: X, reason: 'v3-changed', conflicts: [] }, 'create in v3 (only poolctl wrote) reaches v2');
});

t.test('concurrent changes: different fields both survive; a field both changed goes to the authority', async (t) => {
  const v2 = '{"weight": 10, "pooled": "no"}';
  const v3 = '{"weight": 5, "pooled": "inactive"}';
  t.same(decide(X, v2, v3, 'v2'), { target: '{"weight": 5, "pooled": "no"}', reason: 'merged', conflicts: ['pooled'] });
  t.same(decide(X, v2, v3, 'v3'), { target: '{"weight": 5, "pooled": "inactive"}', reason: 'merged', conflicts: ['pooled'] },
    'v3 wins pooled; the result equals v3 byte for byte');
  // Disjoint changes: no conflict whatever the authority, and the same result.
  const a = '{"weight": 10, "pooled": "no"}';
  const b = '{"weight": 3, "pooled": "yes"}';
  t.same(decide(X, a, b, 'v2').target, '{"weight": 3, "pooled": "no"}');
  t.same(decide(X, a, b, 'v3').target, '{"weight": 3, "pooled": "no"}');
  // Both made the same change: not a conflict.
  t.same(decide(X, a, a.replace(', ', ',  '), 'v2'), { target: a, reason: 'merged', conflicts: [] });
  // Fields added and removed on either side; unknown fields are kept in the authority's order.
  const base = '{"weight": 10, "pooled": "yes", "note": "x"}';
  const r = decide(base, '{"weight": 10, "pooled": "yes", "owner": "sre"}', '{"weight": 10, "pooled": "no", "note": "x", "tag": [1]}', 'v2');
  t.equal(r.target, '{"weight": 10, "pooled": "no", "owner": "sre", "tag": [1]}', 'v2 removed note, added owner; v3 set pooled, added tag');
});

t.test('what cannot be merged field by field: the authority\'s whole state', async (t) => {
  const y = '{"weight": 1, "pooled": "no"}';
  t.same(decide(X, undefined, y, 'v2'), { target: undefined, reason: 'authority', conflicts: [] }, 'v2 deleted, v3 changed: v2 wins');
  t.same(decide(X, undefined, y, 'v3'), { target: y, reason: 'authority', conflicts: [] });
  t.same(decide(X, 'garbage', y, 'v2').target, 'garbage', 'not JSON: opaque, authority wins');
  t.same(decide(X, 'garbage', y, 'v3').target, y);
});

t.test('no base (first start): union of fields, authority wins a field both set', async (t) => {
  t.same(decide(undefined, '{"weight": 10, "pooled": "no"}', '{"weight": 10, "pooled": "yes", "extra": 1}', 'v2'),
    { target: '{"weight": 10, "pooled": "no", "extra": 1}', reason: 'merged', conflicts: ['pooled'] });
});

// Properties over small conftool-like objects.
const field = fc.constantFrom('weight', 'pooled', 'a', 'b');
const val = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('yes', 'no', 'inactive'));
const obj = fc.dictionary(field, val, { maxKeys: 4 });

t.test('property: a field changed on one side only survives any merge; the result is a fixed point', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(obj, obj, obj, fc.constantFrom('v2' as const, 'v3' as const), (b, x, y, auth) => {
    const [B, V2, V3] = [b, x, y].map(pythonJsonDumps);
    const d = decide(B, V2, V3, auth);
    if (d.target === undefined) return false;
    const out = JSON.parse(d.target) as Record<string, unknown>;
    const changedOnlyIn = (side: Record<string, unknown>, other: Record<string, unknown>) =>
      Object.keys({ ...side, ...b }).filter((k) => JSON.stringify(side[k]) !== JSON.stringify(b[k]) && JSON.stringify(other[k]) === JSON.stringify(b[k]));
    for (const [side, other] of [[x, y], [y, x]] as const) {
      for (const k of changedOnlyIn(side, other)) {
        if (JSON.stringify(out[k]) !== JSON.stringify(side[k])) return false;
      }
    }
    // Writing the target to both sides settles it: deciding again changes nothing.
    const again = decide(B, d.target, d.target, auth);
    return again.target === d.target && again.reason === 'in-sync';
  }), { numRuns: 2000 }), '2000 random (base, v2, v3, authority) cases');
});
