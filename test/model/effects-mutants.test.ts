// The effect diff (coordinator-effects.ts) called directly, for the parts of its contract that mutation
// testing (test/model/MUTATION.md) showed no test pinned: thresholdUnmet repeats exactly when one of
// the numbers it reports moves; the event's host comes first only when it changed; every changed host
// is reported (none dropped); a host that came and went within one step yields nothing; serverAdded
// only when asked for; the alert effect fires on a change of status OR of message.
import t from 'tap';
import { alertEffect, diffEffects, type DiffServer, type PoolSummary } from '../../src/model/coordinator-effects.js';
import type { PoolNumbers } from '../../src/model/coordinator-settle.js';
import type { CoordinatorEffect } from '../../src/model/coordinator-types.js';

function summary(pooled: number, required: number, enabled: number, threshold = 1): PoolSummary {
  const numbers: PoolNumbers = { upEnabled: 0, total: required, threshold, required, pooled, enabled };
  return { threshold, numbers };
}

const none = new Map<string, DiffServer | undefined>();
const noLookup = (): DiffServer | undefined => undefined;
const unmet = (effects: readonly CoordinatorEffect[]) => effects.filter((e) => e.kind === 'thresholdUnmet').length;

t.test('thresholdUnmet: reported when it begins and whenever pooled, required or enabled moves; not otherwise', async (t) => {
  const opts = { announceAdded: true };
  t.equal(unmet(diffEffects(summary(2, 4, 2), summary(2, 4, 2), none, noLookup, opts)), 0, 'still unmet, nothing moved: silent');
  t.equal(unmet(diffEffects(summary(4, 4, 4), summary(3, 4, 3), none, noLookup, opts)), 1, 'begins');
  t.equal(unmet(diffEffects(summary(2, 4, 2), summary(1, 4, 2), none, noLookup, opts)), 1, 'pooled moved');
  t.equal(unmet(diffEffects(summary(2, 4, 2), summary(2, 3, 2), none, noLookup, opts)), 1, 'required moved');
  t.equal(unmet(diffEffects(summary(2, 4, 2), summary(2, 4, 3), none, noLookup, opts)), 1, 'enabled moved');
  t.equal(unmet(diffEffects(summary(2, 4, 2), summary(4, 4, 4), none, noLookup, opts)), 0, 'met again: silent');
  t.equal(unmet(diffEffects(summary(2, 4, 2), summary(2, 4, 2), none, noLookup, { ...opts, alwaysReportUnmet: true })), 1, 'at start: always');
  const [e] = diffEffects(summary(2, 4, 2), summary(2, 3, 2), none, noLookup, opts);
  t.same(e, { kind: 'thresholdUnmet', enabled: 2, upEnabled: 0, total: 3, threshold: 1, required: 3, pooled: 2 });
});

const srv = (pooled: boolean, up = true): DiffServer => ({ pooledAdmin: 'yes', weight: 10, up, pooled, reason: up ? 'ok' : 'refused' });

t.test('every changed host is reported; the event host first only when it changed', async (t) => {
  const now = new Map([['a', srv(true)], ['b', srv(true)], ['c', srv(true)]]);
  const changed = new Map<string, DiffServer | undefined>([['c', srv(false)], ['a', srv(false)], ['b', srv(false)]]);
  const hosts = (effects: readonly CoordinatorEffect[]) => effects.map((e) => ('host' in e ? e.host : e.kind));
  const s = summary(3, 2, 3, 0.5);
  t.same(hosts(diffEffects(s, s, changed, (h) => now.get(h), { announceAdded: true })), ['a', 'b', 'c'], 'no event host: by name, none dropped');
  t.same(hosts(diffEffects(s, s, changed, (h) => now.get(h), { announceAdded: true, primary: 'b' })), ['b', 'a', 'c'], 'the event host first');
  t.same(hosts(diffEffects(s, s, changed, (h) => now.get(h), { announceAdded: true, primary: 'x' })), ['a', 'b', 'c'],
    'an event host that did not change is not reported, and no other host is dropped');
});

t.test('serverAdded only when asked for; a host that came and went yields nothing', async (t) => {
  const s = summary(1, 1, 1, 0.5);
  const added = new Map<string, DiffServer | undefined>([['n', undefined]]);
  const lookup = (h: string) => (h === 'n' ? srv(true) : undefined);
  t.same(diffEffects(s, s, added, lookup, { announceAdded: true }), [{ kind: 'serverAdded', host: 'n' }, { kind: 'repooled', host: 'n' }]);
  t.same(diffEffects(s, s, added, lookup, { announceAdded: false }), [{ kind: 'repooled', host: 'n' }], 'start without previous state');
  t.same(diffEffects(s, s, added, noLookup, { announceAdded: true }), [], 'did not exist before and does not now');
});

t.test('the alert effect fires when the status or the message changes', async (t) => {
  const ok = { status: 'ok' as const, message: 'm' };
  t.same(alertEffect(ok, { ...ok }), []);
  t.same(alertEffect(ok, { status: 'warning', message: 'm' }), [{ kind: 'alert', from: ok, to: { status: 'warning', message: 'm' } }], 'status only');
  t.same(alertEffect(ok, { status: 'ok', message: 'n' }), [{ kind: 'alert', from: ok, to: { status: 'ok', message: 'n' } }], 'message only');
});
