// Behaviour of the coordinator's gates (coordinator-gates.ts), the freeze (coordinator-freeze.ts) and the
// /alerts cause for held admin depools (alerts-hold.ts) that no model test pinned, found by mutation
// testing (test/model/MUTATION.md). poolctl's freeze and the /alerts adapter are tested end to end in
// test/cli and test/api; these pin the pure rules so a mutant of them fails in test/model too.
import t from 'tap';
import { gateDeadline, gatesAfter, gatesHold, type Gates } from '../../src/model/coordinator-gates.js';
import { describeFreeze, freezeActive, makeFreeze, FreezeInputError, MAX_FREEZE_MS, MIN_FREEZE_MS, type Freeze } from '../../src/model/coordinator-freeze.js';
import { heldCause, heldHosts, writerText, UNKNOWN_WRITER } from '../../src/model/alerts-hold.js';
import { applyEvents, effectiveState } from '../../src/model/coordinator.js';
import type { FirstRound } from '../../src/model/first-verdict.js';
import type { ConftoolValue, PoolState } from '../../src/model/types.js';
import { hostNames, startPool, thrown } from './coordinator-fixtures.js';


const freezeInput = { now: 1_000_000, durationText: '30m', actor: 'alice', reason: 'check page too slow' };

t.test('makeFreeze: each refusal is a FreezeInputError with its own message and context', async (t) => {
  const bad = thrown(() => makeFreeze({ ...freezeInput, durationMs: null, durationText: '3 fortnights' }));
  t.type(bad, FreezeInputError);
  t.equal((bad as Error).message, "bad duration '3 fortnights' for --for: write it like 30m, 1h or 90s");
  t.same((bad as FreezeInputError).context, { duration: '3 fortnights' });

  const short = thrown(() => makeFreeze({ ...freezeInput, durationMs: 999, durationText: '999ms' }));
  t.type(short, FreezeInputError);
  t.equal((short as Error).message, '--for 999ms is too short: at least 1s');
  t.same((short as FreezeInputError).context, { durationMs: 999 });

  const long = thrown(() => makeFreeze({ ...freezeInput, durationMs: MAX_FREEZE_MS + 1, durationText: '25h' }));
  t.type(long, FreezeInputError);
  t.equal((long as Error).message, '--for 25h is too long: a freeze lasts at most 24h (run freeze again to extend it)');
  t.same((long as FreezeInputError).context, { durationMs: MAX_FREEZE_MS + 1 });
});

t.test('makeFreeze: the reason is required (missing, empty or blank) and trimmed', async (t) => {
  for (const reason of [undefined, '', '   ']) {
    const e = thrown(() => makeFreeze({ ...freezeInput, durationMs: 60_000, reason }));
    t.type(e, FreezeInputError, `reason ${JSON.stringify(reason)}`);
    t.equal((e as Error).message, 'freeze needs --reason "why" (it is shown in /alerts and the audit log)');
  }
  t.same(makeFreeze({ ...freezeInput, durationMs: 60_000, reason: '  dns is down  ' }), {
    since: 1_000_000, until: 1_060_000, actor: 'alice', reason: 'dns is down',
  });
});

t.test('makeFreeze: the limits themselves are accepted (1s and 24h)', async (t) => {
  t.equal(makeFreeze({ ...freezeInput, durationMs: MIN_FREEZE_MS }).until, 1_000_000 + 1000);
  t.equal(makeFreeze({ ...freezeInput, durationMs: MAX_FREEZE_MS }).until, 1_000_000 + 24 * 3_600_000);
});

t.test('describeFreeze: the end time in whole seconds, UTC', async (t) => {
  const f: Freeze = { since: 0, until: Date.UTC(2026, 11, 6, 16, 30, 0, 123), actor: 'alice', reason: 'check page too slow' };
  t.equal(describeFreeze(f), 'health depools frozen by alice until 2026-12-06T16:30:00Z: check page too slow');
  t.equal(freezeActive(f, f.until - 1), true);
  t.equal(freezeActive(f, f.until), false, 'the freeze ends at its end time');
});

const round = (waiting: string[], deadline = 10_000): FirstRound => ({ waiting, total: waiting.length, deadline, startedAt: 0 });

t.test('gates: an admin delete or inactive takes the host out of the first round; other admin writes may extend it', async (t) => {
  const g: Gates = { firstRound: round(['a', 'b']) };
  const del = gatesAfter(g, { type: 'adminChanged', at: 10, host: 'a', value: null }, [], 1);
  t.same(del.firstRound, { waiting: ['b'], total: 1, deadline: 10_000, startedAt: 0 }, 'deleted: no longer waited for');
  const inactive: ConftoolValue = { weight: 10, pooled: 'inactive' };
  const ina = gatesAfter(g, { type: 'adminChanged', at: 10, host: 'b', value: inactive }, [], 1);
  t.same(ina.firstRound, { waiting: ['a'], total: 1, deadline: 10_000, startedAt: 0 }, 'inactive: no longer waited for');
  // The last waiting host leaves: the round (and with it the gate) ends.
  t.same(gatesAfter(del, { type: 'adminChanged', at: 11, host: 'b', value: null }, [], 0), {});

  // A new conftool entry (a pool member added by this write) joins the round, with the event's timeout.
  const yes: ConftoolValue = { weight: 10, pooled: 'yes' };
  const added = gatesAfter(g, { type: 'adminChanged', at: 9000, host: 'c', value: yes, firstRoundTimeoutMs: 5000 }, ['c'], 3);
  t.same(added.firstRound, { waiting: ['a', 'b', 'c'], total: 3, deadline: 14_000, startedAt: 0 });
  // A host already waiting that is written `no` stays waited for (it is still a member).
  const no = gatesAfter(g, { type: 'adminChanged', at: 10, host: 'a', value: { weight: 10, pooled: 'no' } }, [], 2);
  t.equal(no, g, 'nothing changed: the same gates');
});

t.test('gates: a definition change extends the first round for added servers and keeps a freeze', async (t) => {
  const { service } = await import('./coordinator-fixtures.js');
  const freeze: Freeze = { since: 0, until: 60_000, actor: 'alice', reason: 'dns' };
  const g: Gates = { firstRound: round(['a']), freeze };
  const after = gatesAfter(g, { type: 'configChanged', at: 8000, service: service(['a', 'b', 'c'], 0.5), firstRoundTimeoutMs: 4000 }, ['b', 'c'], 3);
  t.same(after, { firstRound: { waiting: ['a', 'b', 'c'], total: 3, deadline: 12_000, startedAt: 0 }, freeze });
  // Without a timeout (0 or none) nothing is extended; the freeze still stays.
  const none = gatesAfter({ freeze }, { type: 'configChanged', at: 8000, service: service(['a', 'b'], 0.5) }, ['b'], 2);
  t.same(none, { freeze });
  // A freeze starts and ends with freezeChanged; an expired one is dropped at the next event.
  const frozen = gatesAfter({}, { type: 'freezeChanged', at: 1, freeze }, [], 1);
  t.same(frozen, { freeze });
  t.same(gatesAfter(frozen, { type: 'freezeChanged', at: 2, freeze: null }, [], 1), {});
  t.same(gatesAfter(frozen, { type: 'tick', at: 60_000 }, [], 1), {});
});

t.test('gateDeadline: the earlier end of the two gates, or none', async (t) => {
  const freeze: Freeze = { since: 0, until: 60_000, actor: 'alice', reason: 'dns' };
  t.equal(gateDeadline({}), undefined);
  t.equal(gateDeadline({ freeze }), 60_000);
  t.equal(gateDeadline({ firstRound: round(['a'], 90_000) }), 90_000);
  t.equal(gateDeadline({ firstRound: round(['a'], 90_000), freeze }), 60_000);
  t.equal(gateDeadline({ firstRound: round(['a'], 30_000), freeze }), 30_000);
  t.equal(gatesHold({ freeze }, 59_999), true);
  t.equal(gatesHold({ freeze }, 60_000), false);
});

/** A published state with admin depools held: 10 hosts at threshold .5, 7 depools written. */
function heldState(): PoolState {
  const H = hostNames(10);
  // Written from the last host backwards: the first five go, cp1048 and cp1047 are held (R2).
  const events = [9, 8, 7, 6, 5, 4, 3].map((i, n) => ({
    type: 'adminChanged' as const, at: 100 + n, host: H[i], value: { weight: 10, pooled: 'no' as const }, revision: 100 + n,
  }));
  const tr = applyEvents(startPool(H, 0.5).state, [
    ...events,
    { type: 'adminWriter', at: 200, host: H[3], revision: 106, writer: { actor: 'alice' } },
    { type: 'adminWriter', at: 200, host: H[4], revision: 105, writer: null },
  ]);
  return effectiveState(tr.state);
}

t.test('alerts for held depools: sorted hosts with who wrote each, critical, under the LVS service', async (t) => {
  const state = heldState();
  t.same(heldHosts(state), ['cp1048.eqiad.wmnet', 'cp1049.eqiad.wmnet']);
  // A state read back from etcd may list its servers in any order: the hosts still come sorted.
  const reversed: PoolState = { ...state, servers: Object.fromEntries(Object.entries(state.servers).reverse()) };
  t.same(heldHosts(reversed), ['cp1048.eqiad.wmnet', 'cp1049.eqiad.wmnet']);
  const cause = heldCause(reversed);
  t.same(cause, {
    pool: 'cxserver',
    severity: 'critical',
    message: 'admin depool held by threshold: cp1048.eqiad.wmnet (by alice), cp1049.eqiad.wmnet (by unknown writer)',
  });
  t.equal(heldCause(state, 'eqiad/cxserver')?.pool, 'eqiad/cxserver');
  // Nothing held: no cause.
  const H = hostNames(4);
  t.equal(heldCause(effectiveState(startPool(H, 0.5).state)), null);
});

t.test('writerText: looked up, unknown, or the actor', async (t) => {
  t.equal(UNKNOWN_WRITER, 'unknown writer');
  t.equal(writerText({}), 'writer being looked up');
  t.equal(writerText({ writer: undefined }), 'writer being looked up');
  t.equal(writerText({ writer: null }), 'by unknown writer');
  t.equal(writerText({ writer: { actor: 'bob', reason: 'reimage' } }), 'by bob');
});
