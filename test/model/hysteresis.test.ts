import t from 'tap';
import fc from 'fast-check';
import {
  applyResult,
  initialHealth,
  reconfigure,
  validateHysteresisConfig,
  type HealthEvent,
  type HealthState,
  type HysteresisConfig,
} from '../../src/model/hysteresis.js';
import { UsageError } from '../../src/model/errors.js';

const ids = { host: 'sca1001.eqiad.wmnet', check: 'http' };
const NO_FLAP = { transitions: 0, windowMs: 0 };
const ok = { up: true, code: 'ok' as const, message: 'status 200' };
const bad = { up: false, code: 'status' as const, message: 'status 404 (expected 200)' };

/** Runs a sequence of '+' (success) / '-' (failure) one second apart; returns states and events per step. */
function run(seq: string, cfg: HysteresisConfig, startUp: boolean, stepMs = 1000) {
  let s = initialHealth(startUp, 0);
  const states: HealthState[] = [];
  const events: HealthEvent[][] = [];
  [...seq].forEach((c, i) => {
    const r = applyResult(s, cfg, ids, c === '+' ? ok : bad, (i + 1) * stepMs);
    s = r.state;
    states.push(s);
    events.push([...r.events]);
  });
  return { states, events, final: s };
}

const upString = (states: HealthState[]) => states.map((s) => (s.up ? 'U' : 'D')).join('');

t.test('rise/fall table', async (t) => {
  // [rise, fall, start, results, expected up/down after each result]
  const table: [number, number, boolean, string, string][] = [
    [2, 2, false, '++', 'DU'],
    [2, 2, false, '+-++', 'DDDU'],
    [3, 1, false, '++-+++', 'DDDDDU'],
    [1, 1, false, '+-+-', 'UDUD'],
    [2, 3, true, '--+---', 'UUUUUD'],
    [2, 3, true, '---', 'UUD'],
    [1, 2, true, '-+-+-', 'UUUUU'],
    [2, 2, true, '++++', 'UUUU'],
    [2, 2, false, '----', 'DDDD'],
    [5, 5, true, '-----+++++', 'UUUUDDDDDU'],
  ];
  for (const [rise, fall, start, seq, want] of table) {
    const { states } = run(seq, { rise, fall, flapping: NO_FLAP }, start);
    t.equal(upString(states), want, `rise=${rise} fall=${fall} start=${start ? 'up' : 'down'} ${seq}`);
  }
});

t.test('a restart does not flap: the initial state is kept until rise/fall says otherwise', async (t) => {
  const cfg = { rise: 3, fall: 3, flapping: { transitions: 1, windowMs: 60_000 } };
  const up = run('+-+', cfg, true);
  t.same(upString(up.states), 'UUU');
  t.same(up.events.flat().map((e) => e.type), ['first_failure'], 'only the first failure is reported, no transition');
  const down = run('+-', cfg, false);
  t.same(upString(down.states), 'DD');
  t.same(down.events.flat(), []);
});

t.test('events carry host, check, time and reason', async (t) => {
  const cfg = { rise: 2, fall: 2, flapping: NO_FLAP };
  const { events } = run('--++', cfg, true);
  t.same(
    events.map((es) => es.map((e) => e.type)),
    [['first_failure'], ['went_down'], [], ['came_up']],
  );
  const [ff] = events[0];
  t.match(ff, { host: ids.host, check: 'http', at: 1000, code: 'status', message: 'status 404 (expected 200)', up: true });
  const [down] = events[1];
  t.match(down, { at: 2000, code: 'status', up: false });
  t.match(down.message, /status 404 \(expected 200\) \(2 consecutive failures, fall 2\)/);
  const [upEv] = events[3];
  t.match(upEv, { type: 'came_up', at: 4000, code: 'ok', up: true });
  t.match(upEv.message, /2 consecutive successes/);
});

t.test('fall=1 reports first_failure and went_down for the same result', async (t) => {
  const { events } = run('-', { rise: 1, fall: 1, flapping: NO_FLAP }, true);
  t.same(events[0].map((e) => [e.type, e.up]), [
    ['first_failure', true],
    ['went_down', false],
  ]);
});

t.test('a down server keeps its reason current', async (t) => {
  let s = initialHealth(false, 0);
  s = applyResult(s, { rise: 2, fall: 2, flapping: NO_FLAP }, ids, { up: false, code: 'refused', message: 'connection refused' }, 1).state;
  t.equal(s.code, 'refused');
  t.equal(s.message, 'connection refused');
});

t.test('a down server failing the same way keeps the message it went down with (no change, no etcd write)', async (t) => {
  const cfg = { rise: 2, fall: 2, flapping: NO_FLAP };
  let s = initialHealth(true, 0);
  for (let i = 1; i <= 2; i++) s = applyResult(s, cfg, ids, bad, i * 1000).state;
  t.equal(s.up, false);
  const wentDown = s.message;
  t.match(wentDown, /\(2 consecutive failures, fall 2\)/);
  for (let i = 3; i <= 6; i++) {
    const step = applyResult(s, cfg, ids, bad, i * 1000);
    t.same(step.events, [], 'no event');
    s = step.state;
    t.equal(s.message, wentDown, `round ${i}: the message is the one it went down with`);
    t.equal(s.code, 'status');
  }
  // Another failure: the reason follows it; then the same again stays.
  s = applyResult(s, cfg, ids, { up: false, code: 'refused', message: 'connection refused' }, 7000).state;
  t.same([s.code, s.message], ['refused', 'connection refused']);
  s = applyResult(s, cfg, ids, bad, 8000).state;
  t.same([s.code, s.message], ['status', 'status 404 (expected 200)'], 'back to the first failure: its message, current');
  s = applyResult(s, cfg, ids, bad, 9000).state;
  t.same([s.code, s.message], ['status', 'status 404 (expected 200)']);
});

t.test('flapping: N transitions inside the window start it; it stops when the window holds fewer', async (t) => {
  // rise=fall=1: every result of the other polarity is a transition. Window 10 s, 4 transitions.
  const cfg = { rise: 1, fall: 1, flapping: { transitions: 4, windowMs: 10_000 } };
  const { states, events, final } = run('-+-+', cfg, true);
  t.same(states.map((s) => s.flapping), [false, false, false, true]);
  const started = events[3].find((e) => e.type === 'flapping_started');
  t.ok(started, 'flapping_started emitted on the 4th transition');
  t.match(started, { host: ids.host, check: 'http', at: 4000, code: 'flapping', message: 'flapping: 4 transitions in 10s', flapping: true });
  t.equal(final.flappingReason, 'flapping: 4 transitions in 10s');

  // A fifth transition keeps it flapping and updates the reason, without a second start event.
  const s5 = applyResult(final, cfg, ids, bad, 5000);
  t.same(s5.events.map((e) => e.type), ['first_failure', 'went_down'], 'no second flapping_started');
  t.equal(s5.state.flappingReason, 'flapping: 5 transitions in 10s');

  // Time passes with steady results: the transition at t=1000 leaves the window at t=11000 → 4 left, still flapping;
  // at t=12000 the one at 2000 leaves → 3 left, flapping stops.
  let s = s5.state;
  const stopAt: number[] = [];
  for (let at = 6000; at <= 14_000; at += 1000) {
    const r = applyResult(s, cfg, ids, bad, at);
    s = r.state;
    if (r.events.some((e) => e.type === 'flapping_stopped')) stopAt.push(at);
  }
  t.same(stopAt, [12_000]);
  t.notOk(s.flapping);
  t.equal(s.flappingReason, '');
});

t.test('reconfigure at a later time prunes the window: flapping clears when results stopped arriving', async (t) => {
  const cfg = { rise: 1, fall: 1, flapping: { transitions: 3, windowMs: 60_000 } };
  const { final } = run('-+-', cfg, true);
  t.ok(final.flapping);
  const early = reconfigure(final, cfg, ids, 60_999);
  t.ok(early.state.flapping, 'transition at t=1000 is still inside (60999-60000, 60999]');
  t.same(early.events, []);
  const late = reconfigure(final, cfg, ids, 61_000);
  t.notOk(late.state.flapping);
  t.same(late.events.map((e) => [e.type, e.code]), [['flapping_stopped', 'flapping']]);
  t.match(late.events[0].message, /flapping stopped: 2 transitions in 1m/);
});

t.test('EventLogging: a writer failing and recovering all day raises flapping, with hysteresis', async (t) => {
  // 6 transitions in 10 minutes with rise=fall=2 at 10 s interval: down 1 min, up 1 min, repeatedly.
  const cfg = { rise: 2, fall: 2, flapping: { transitions: 6, windowMs: 600_000 } };
  let s = initialHealth(true, 0);
  let started: HealthEvent | undefined;
  for (let i = 1; i <= 120 && !started; i++) {
    const minute = Math.floor((i * 10_000) / 60_000);
    const r = applyResult(s, cfg, ids, minute % 2 === 1 ? bad : ok, i * 10_000);
    s = r.state;
    started = r.events.find((e) => e.type === 'flapping_started');
  }
  t.ok(started, 'flapping detected');
  t.equal(started!.message, 'flapping: 6 transitions in 10m');
  t.ok(started!.at <= 6 * 60_000 + 20_000, `detected within the 6th minute (+fall), at ${started!.at}`);
});

t.test('flapping disabled by transitions=0; reconfigure keeps up/down and re-evaluates flapping', async (t) => {
  const off = { rise: 1, fall: 1, flapping: NO_FLAP };
  const { final } = run('-+-+-+-+', off, true);
  t.notOk(final.flapping);
  t.same(final.transitions, [], 'no transitions remembered when disabled');

  const on = { rise: 1, fall: 1, flapping: { transitions: 2, windowMs: 10_000 } };
  const flap = run('-+', on, true).final;
  t.ok(flap.flapping);
  const r = reconfigure(flap, off, ids, 3000);
  t.notOk(r.state.flapping);
  t.equal(r.state.up, flap.up);
  t.same(r.events.map((e) => e.type), ['flapping_stopped']);
});

t.test('bad configs are rejected with the field named', async (t) => {
  t.throws(() => validateHysteresisConfig({ rise: 0, fall: 1, flapping: NO_FLAP }, 'cxserver/http'), {
    message: /cxserver\/http: rise must be an integer >= 1, got 0/,
  });
  t.throws(() => validateHysteresisConfig({ rise: 1, fall: 1.5, flapping: NO_FLAP }), UsageError);
  t.throws(() => validateHysteresisConfig({ rise: 1, fall: 1, flapping: { transitions: 2, windowMs: -1 } }), {
    message: /flapping needs/,
  });
  t.doesNotThrow(() => validateHysteresisConfig({ rise: 2, fall: 3, flapping: { transitions: 6, windowMs: 600_000 } }));
});

t.test('property: state changes exactly after rise/fall consecutive results, never otherwise', async (t) => {
  t.doesNotThrow(() =>
   fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      fc.array(fc.boolean(), { maxLength: 60 }),
      (rise, fall, startUp, results) => {
        const cfg = { rise, fall, flapping: { transitions: 3, windowMs: 5000 } };
        let s = initialHealth(startUp, 0);
        let prevUp = startUp;
        let run = 0; // length of the trailing run of equal results
        let transitions = 0;
        results.forEach((r, i) => {
          run = i > 0 && results[i - 1] === r ? run + 1 : 1;
          const step = applyResult(s, cfg, ids, r ? ok : bad, (i + 1) * 1000);
          s = step.state;
          const changed = s.up !== prevUp;
          if (changed) {
            transitions++;
            // Only a run of the right polarity and exactly the threshold length flips the state.
            if (s.up !== r) throw new Error(`state moved against the result at ${i}`);
            if (run !== (r ? rise : fall)) throw new Error(`changed after a run of ${run} at ${i}`);
            const type = r ? 'came_up' : 'went_down';
            if (!step.events.some((e) => e.type === type)) throw new Error(`no ${type} event at ${i}`);
          } else {
            // No change although the trailing run reached the threshold means the state already matched.
            if (run >= (r ? rise : fall) && prevUp !== r) throw new Error(`missed a transition at ${i}`);
            if (step.events.some((e) => e.type === 'came_up' || e.type === 'went_down')) throw new Error(`spurious event at ${i}`);
          }
          // first_failure exactly on the first failure of a streak while up.
          const ff = step.events.some((e) => e.type === 'first_failure');
          if (ff !== (!r && prevUp && run === 1)) throw new Error(`first_failure mismatch at ${i}`);
          // Flapping is a function of the transitions inside the window.
          if (s.flapping !== s.transitions.length >= 3) throw new Error(`flapping mismatch at ${i}`);
          if (s.transitions.some((x) => x <= (i + 1) * 1000 - 5000)) throw new Error(`stale transition kept at ${i}`);
          prevUp = s.up;
        });
        if (transitions > results.length) throw new Error('more transitions than results');
      },
    ),
    { numRuns: 2000 },
   ),
  );
});
