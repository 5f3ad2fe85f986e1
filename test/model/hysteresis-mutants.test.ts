// Behaviour of src/model/hysteresis.ts that the main suite (hysteresis.test.ts) left unpinned, found by
// mutation testing (test/model/MUTATION.md): the exact config errors and their context, the initial
// state, the reason a down server reports when only its code or only its message changes, flapping
// turned off at run time, reconfigure of a server that has transitions but is not flapping, and the
// hot path's promise not to copy the transitions window when nothing left it.
import t from 'tap';
import {
  applyResult,
  initialHealth,
  reconfigure,
  validateHysteresisConfig,
  type HealthState,
  type HysteresisConfig,
} from '../../src/model/hysteresis.js';
import { UsageError } from '../../src/model/errors.js';
import { thrown } from './coordinator-fixtures.js';

const ids = { host: 'mw1001.eqiad.wmnet', check: 'http' };
const NO_FLAP = { transitions: 0, windowMs: 0 };


t.test('config errors: default location, the field named, its value in the context', async (t) => {
  const rise = thrown(() => validateHysteresisConfig({ rise: 0, fall: 1, flapping: NO_FLAP }));
  t.type(rise, UsageError);
  t.equal((rise as UsageError).message, 'hysteresis config: rise must be an integer >= 1, got 0');
  t.same((rise as UsageError).context, { rise: 0 });

  const fall = thrown(() => validateHysteresisConfig({ rise: 2, fall: 0, flapping: NO_FLAP }, 'cxserver/http'));
  t.type(fall, UsageError);
  t.equal((fall as UsageError).message, 'cxserver/http: fall must be an integer >= 1, got 0');
  t.same((fall as UsageError).context, { fall: 0 });

  const flap = { transitions: 2, windowMs: -5 };
  const f = thrown(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: flap }));
  t.type(f, UsageError);
  t.equal((f as UsageError).message, 'hysteresis config: flapping needs integer transitions and windowMs >= 0, got {"transitions":2,"windowMs":-5}');
  t.same((f as UsageError).context, { flapping: flap });
});

t.test('config errors: every bad flapping shape is a UsageError, windowMs 0 is allowed', async (t) => {
  // A definition without flapping at all: a clear UsageError, not a TypeError from reading a field of undefined.
  const missing = thrown(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: undefined } as unknown as HysteresisConfig));
  t.type(missing, UsageError, 'flapping missing');
  t.match((missing as Error).message, /flapping needs integer transitions/);
  t.type(thrown(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: { transitions: 1.5, windowMs: 1000 } })), UsageError, 'fractional transitions');
  t.type(thrown(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: { transitions: 3, windowMs: Number.NaN } })), UsageError, 'windowMs NaN');
  t.type(thrown(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: { transitions: 3, windowMs: Infinity } })), UsageError, 'windowMs Infinity');
  t.equal(thrown(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: { transitions: 3, windowMs: 0 } })), undefined, 'windowMs 0 (flapping off) is valid');
  t.equal(thrown(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: NO_FLAP })), undefined, 'transitions 0 (flapping off) is valid');
});

t.test('initial state: exact reason and a "no result yet" last result', async (t) => {
  t.same(initialHealth(true, 5), {
    up: true, okStreak: 0, failStreak: 0, transitions: [], flapping: false, flappingReason: '', since: 5,
    code: 'ok', message: 'initial state: up', last: { at: -1, up: true, code: 'ok', message: 'initial state: up' },
  });
  t.same(initialHealth(false, 7), {
    up: false, okStreak: 0, failStreak: 0, transitions: [], flapping: false, flappingReason: '', since: 7,
    code: 'error', message: 'initial state: down', last: { at: -1, up: false, code: 'error', message: 'initial state: down' },
  });
  t.equal(initialHealth(false, 0, 'last published: refused').last.message, 'last published: refused');
});

t.test('a down server: a new code alone, or a new message alone, updates its reason', async (t) => {
  const cfg = { rise: 2, fall: 1, flapping: NO_FLAP };
  let s = initialHealth(true, 0);
  s = applyResult(s, cfg, ids, { up: false, code: 'status', message: 'same text' }, 1000).state;
  t.equal(s.up, false);
  t.match(s.message, /^same text \(1 consecutive failures, fall 1\)$/);
  // Same message, another code: the code is current and the message is the result's.
  s = applyResult(s, cfg, ids, { up: false, code: 'headers_timeout', message: 'same text' }, 2000).state;
  t.same([s.code, s.message], ['headers_timeout', 'same text']);
  // Same code, another message.
  s = applyResult(s, cfg, ids, { up: false, code: 'headers_timeout', message: 'timed out after 5s' }, 3000).state;
  t.same([s.code, s.message], ['headers_timeout', 'timed out after 5s']);
});

t.test('flapping turned off while flapping: it stops with an exact event and an empty reason', async (t) => {
  const on = { rise: 1, fall: 1, flapping: { transitions: 2, windowMs: 60_000 } };
  let s = initialHealth(true, 0);
  s = applyResult(s, on, ids, { up: false, code: 'refused', message: 'refused' }, 1000).state;
  s = applyResult(s, on, ids, { up: true, code: 'ok', message: 'ok' }, 2000).state;
  t.equal(s.flapping, true);
  t.equal(s.flappingReason, 'flapping: 2 transitions in 1m');
  const off = { rise: 1, fall: 1, flapping: NO_FLAP };
  // Through a result (applyResult) and through a reconfigure: the same outcome.
  for (const step of [applyResult(s, off, ids, { up: true, code: 'ok', message: 'ok' }, 3000), reconfigure(s, off, ids, 3000)]) {
    t.equal(step.state.flapping, false);
    t.equal(step.state.flappingReason, '');
    t.same(step.state.transitions, []);
    t.same(step.events, [{ type: 'flapping_stopped', host: ids.host, check: 'http', at: 3000, code: 'flapping', message: 'flapping detection disabled', up: true, flapping: false }]);
  }
});

t.test('reconfigure of a server with transitions that is not flapping: a smaller limit starts flapping', async (t) => {
  const cfg = { rise: 1, fall: 1, flapping: { transitions: 3, windowMs: 60_000 } };
  let s = initialHealth(true, 0);
  s = applyResult(s, cfg, ids, { up: false, code: 'refused', message: 'refused' }, 1000).state;
  s = applyResult(s, cfg, ids, { up: true, code: 'ok', message: 'ok' }, 2000).state;
  t.same(s.transitions, [1000, 2000]);
  t.equal(s.flapping, false);
  const r = reconfigure(s, { ...cfg, flapping: { transitions: 2, windowMs: 60_000 } }, ids, 2500);
  t.equal(r.state.flapping, true);
  t.equal(r.state.flappingReason, 'flapping: 2 transitions in 1m');
  t.same(r.events.map((e) => [e.type, e.message]), [['flapping_started', 'flapping: 2 transitions in 1m']]);
  // A shorter window drops the old transitions at reconfigure time.
  const pruned = reconfigure(s, { ...cfg, flapping: { transitions: 3, windowMs: 1000 } }, ids, 2500);
  t.same(pruned.state.transitions, [2000]);
});

t.test('a result that leaves the window as it was keeps the same transitions array (no copy per result)', async (t) => {
  // applyResult runs for every check result (10k/s): a steady server must not allocate a new window each time.
  const cfg = { rise: 1, fall: 1, flapping: { transitions: 5, windowMs: 60_000 } };
  let s: HealthState = initialHealth(true, 0);
  s = applyResult(s, cfg, ids, { up: false, code: 'refused', message: 'refused' }, 1000).state;
  const window = s.transitions;
  const steady = applyResult(s, cfg, ids, { up: false, code: 'refused', message: 'refused' }, 2000).state;
  t.equal(steady.transitions, window, 'same array object');
  t.same(steady.transitions, [1000]);
  const expired = applyResult(s, cfg, ids, { up: false, code: 'refused', message: 'refused' }, 61_000).state;
  t.same(expired.transitions, [], 'the transition at 1000 left the window (61000 - 60000]');
});
