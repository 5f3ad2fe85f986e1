// Property tests over random event sequences: ARCHITECTURE.md §6's invariants hold after every event, the coordinator
// is deterministic and pure, its effects explain every change, and on health-only sequences it agrees
// exactly with a step-by-step re-statement of PyBal's resultDown/resultUp/depool/repool.
import t from 'tap';
import fc from 'fast-check';
import { applyEvent, applyEvents, canDepool, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import type { CoordinatorEvent, CoordinatorState, HealthInput, Transition } from '../../src/model/coordinator-types.js';
import { requiredCount } from '../../src/model/coordinator-threshold.js';
import { computeAlerts } from '../../src/model/alerts.js';
import type { ConftoolValue, Pooled } from '../../src/model/types.js';
import { service } from './coordinator-fixtures.js';

const NAMES = Array.from({ length: 14 }, (_, i) => `mw${1001 + i}.eqiad.wmnet`);

const threshold = fc.oneof(fc.constantFrom(0, 0.25, 0.5, 0.7, 0.75, 1), fc.double({ min: 0, max: 1, noNaN: true }));
const pooledArb = fc.constantFrom<Pooled>('yes', 'yes', 'yes', 'no', 'inactive');
const adminValue = fc.record({ weight: fc.constantFrom(0, 1, 10), pooled: pooledArb });

interface Scenario {
  hosts: string[];
  threshold: number;
  admin: Record<string, ConftoolValue>;
  health: Record<string, HealthInput>;
  events: CoordinatorEvent[];
}

function scenario(opts: { healthOnly: boolean }): fc.Arbitrary<Scenario> {
  return fc
    .record({
      n: fc.integer({ min: 1, max: 12 }),
      threshold,
      admins: fc.array(fc.option(adminValue, { nil: undefined }), { minLength: 12, maxLength: 12 }),
      healths: fc.array(fc.option(fc.boolean(), { nil: undefined }), { minLength: 12, maxLength: 12 }),
      raw: fc.array(
        fc.oneof(
          { weight: 6, arbitrary: fc.record({ k: fc.constant('health' as const), i: fc.nat(13), up: fc.boolean() }) },
          { weight: opts.healthOnly ? 0 : 2, arbitrary: fc.record({ k: fc.constant('admin' as const), i: fc.nat(13), v: fc.option(adminValue, { nil: null }) }) },
          {
            weight: opts.healthOnly ? 0 : 1,
            arbitrary: fc.record({ k: fc.constant('config' as const), thr: threshold, keep: fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }) }),
          },
        ),
        { maxLength: 40 },
      ),
    })
    .map(({ n, threshold, admins, healths, raw }) => {
      const hosts = NAMES.slice(0, n);
      const admin: Record<string, ConftoolValue> = {};
      const health: Record<string, HealthInput> = {};
      hosts.forEach((h, i) => {
        const a = admins[i];
        if (a !== undefined || opts.healthOnly) admin[h] = a ?? { weight: 10, pooled: 'yes' };
        const up = healths[i];
        if (up !== undefined && !opts.healthOnly) health[h] = { up, reason: up ? 'ok' : 'refused', at: 0 };
      });
      const events: CoordinatorEvent[] = raw.map((r, idx): CoordinatorEvent => {
        const at = idx + 1;
        // Health-only sequences stay within the started hosts; others also touch unknown hosts.
        const host = opts.healthOnly ? hosts[r.k === 'config' ? 0 : r.i % n] : NAMES[r.k === 'config' ? 0 : r.i];
        if (r.k === 'health') return { type: 'healthChanged', host, up: r.up, reason: r.up ? 'ok' : `down at ${at}`, at };
        if (r.k === 'admin') return { type: 'adminChanged', host, value: r.v, at };
        return { type: 'configChanged', service: service(NAMES.filter((_, i) => r.keep[i]), r.thr), at };
      });
      return { hosts, threshold, admin, health, events };
    });
}

function deepFreeze<T>(o: T): T {
  if (o instanceof Map) {
    for (const v of o.values()) deepFreeze(v);
  } else if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** JSON with Maps written as their entries (JSON.stringify writes a Map as {}). */
function serialize(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Map ? { map: [...x] } : x));
}

function start(s: Scenario): Transition {
  return createCoordinator({ at: 0, service: service(s.hosts, s.threshold), admin: s.admin, health: s.health });
}

/** The invariants of ARCHITECTURE.md §6 (plus PyBal's "up and enabled implies pooled"); returns the first violation. */
function violation(st: CoordinatorState): string | null {
  const hosts = [...st.servers.keys()];
  if (hosts.join() !== [...hosts].sort().join()) return 'servers not sorted';
  let total = 0;
  let enabled = 0;
  let pooled = 0;
  for (const h of hosts) {
    const s = st.servers.get(h)!;
    if (s.pooledAdmin !== 'inactive') total++;
    if (s.pooledAdmin === 'yes') enabled++;
    if (s.pooled) pooled++;
    if (s.pooled && s.pooledAdmin !== 'yes') return `P0: ${h} pooled but pooled=${s.pooledAdmin}`;
    if (s.up && s.pooledAdmin === 'yes' && !s.pooled) return `${h} up and enabled but not pooled`;
    if (s.pooled && !s.up && !st.pooledDown.includes(h)) return `P1: ${h} pooled and down but not in pooledDown`;
    if (s.pooled && !s.up && canDepool(st)) return `P1: ${h} pooled and down although canDepool`;
  }
  const pd = st.pooledDown;
  if (pd.join() !== [...new Set(pd)].sort().join()) return `pooledDown not sorted/unique: ${pd.join()}`;
  for (const h of pd) {
    const s = st.servers.get(h)!;
    if (s === undefined) return `stale pooledDown entry ${h}: not a server`;
    if (!s.pooled || s.up || s.pooledAdmin !== 'yes') return `stale pooledDown entry ${h}`;
  }
  const required = requiredCount(total, st.depoolThreshold);
  if (pooled < required && pooled < enabled) return `threshold: ${pooled} pooled < ${required} with ${enabled} enabled`;
  const alerts = computeAlerts([effectiveState(st)]);
  if ((alerts.status === 'critical') !== pd.length > 0) return `alerts ${alerts.status} with pooledDown ${pd.join()}`;
  for (const h of pd) if (!alerts.msg.includes(h)) return `alert misses ${h}`;
  return null;
}

function pooledSet(st: CoordinatorState): Set<string> {
  return new Set([...st.servers.keys()].filter((h) => st.servers.get(h)!.pooled));
}

/** Replays the pool-membership effects on the old pooled set; must give the new pooled set. */
function effectsExplain(before: CoordinatorState, tr: Transition): string | null {
  const set = pooledSet(before);
  for (const e of tr.effects) {
    if (e.kind === 'depooled') {
      if (!set.delete(e.host)) return `depooled ${e.host} which was not pooled`;
    } else if (e.kind === 'repooled' || e.kind === 'forcePooled') {
      if (set.has(e.host)) return `${e.kind} ${e.host} which was pooled`;
      set.add(e.host);
    }
  }
  const after = pooledSet(tr.state);
  if ([...set].sort().join() !== [...after].sort().join()) return `effects give {${[...set].sort()}} but state has {${[...after].sort()}}`;
  return null;
}

t.test('invariants hold after every event; effects explain every change; states are never mutated', async (t) => {
  fc.assert(
    fc.property(scenario({ healthOnly: false }), (s) => {
      let tr = start(s);
      let v = violation(tr.state);
      if (v !== null) throw new Error(`after start: ${v}`);
      for (const [i, e] of s.events.entries()) {
        const before = deepFreeze(tr.state); // a mutation of a server object would throw
        const snapshot = serialize(before);
        tr = applyEvent(before, e);
        if (serialize(before) !== snapshot) throw new Error(`event ${i} mutated the old state`);
        v = violation(tr.state) ?? effectsExplain(before, tr);
        if (v !== null) throw new Error(`after event ${i} ${JSON.stringify(e)}: ${v}`);
        const changed = tr.state !== before;
        if (changed !== (tr.state.revision === before.revision + 1)) throw new Error('revision must step exactly when the state changes');
        if (!changed && tr.effects.some((x) => x.kind !== 'ignored')) throw new Error('effects without a change');
        for (const k of ['couldNotDepool', 'forcePooled', 'depooled', 'repooled'] as const) {
          if (tr.state.counters[k] < before.counters[k]) throw new Error(`counter ${k} went down`);
        }
      }
    }),
    { numRuns: 400 },
  );
  t.pass('400 random sequences');
});

t.test('determinism: the same events give the same states and effects', async (t) => {
  fc.assert(
    fc.property(scenario({ healthOnly: false }), (s) => {
      const once = (): unknown[] => {
        let tr = start(s);
        const out: unknown[] = [tr];
        for (const e of s.events) out.push((tr = applyEvent(tr.state, e)));
        return out;
      };
      const a = once();
      const b = once();
      if (serialize(a) !== serialize(b)) throw new Error('runs differ');
    }),
    { numRuns: 150 },
  );
  t.pass('150 random sequences');
});

t.test('a batch (applyEvents) is exactly the events applied one by one, with one alert effect', async (t) => {
  fc.assert(
    fc.property(scenario({ healthOnly: false }), (s) => {
      const start0 = start(s).state;
      let seq: Transition = { state: start0, effects: [] };
      const seqEffects = [];
      for (const e of s.events) {
        seq = applyEvent(seq.state, e);
        seqEffects.push(...seq.effects.filter((x) => x.kind !== 'alert'));
      }
      const batch = applyEvents(start0, s.events);
      if (serialize(batch.state) !== serialize(seq.state)) throw new Error('batch state differs');
      if (serialize(batch.effects.filter((x) => x.kind !== 'alert')) !== serialize(seqEffects)) throw new Error('batch effects differ');
      const alerts = batch.effects.filter((x) => x.kind === 'alert');
      const from = computeAlerts([effectiveState(start0)]);
      const to = computeAlerts([effectiveState(batch.state)]);
      if (alerts.length !== (from.msg === to.msg ? 0 : 1)) throw new Error(`alert effects: ${serialize(alerts)}`);
      if (alerts.length === 1 && batch.effects[batch.effects.length - 1].kind !== 'alert') throw new Error('alert must come last');
    }),
    { numRuns: 200 },
  );
  t.pass('200 random batches');
});

/**
 * PyBal's coordinator restated step by step (resultDown / resultUp / depool / repool, with the repool loop
 * popping pooled-down servers one at a time), for health events on a fixed set of servers.
 */
class PyBalReference {
  up = new Map<string, boolean>();
  pool = new Map<string, boolean>();
  pooledDown = new Set<string>();
  constructor(
    private readonly enabled: Map<string, boolean>,
    private readonly total: number,
    private readonly threshold: number,
  ) {
    for (const [h, en] of enabled) {
      this.up.set(h, true); // Server.DEF_STATE
      this.pool.set(h, en);
    }
  }
  canDepool(): boolean {
    let n = 0;
    for (const [h, en] of this.enabled) if (en && this.up.get(h)) n++;
    return n >= this.total * this.threshold;
  }
  depool(h: string): void {
    if (this.canDepool()) {
      this.pool.set(h, false);
      this.pooledDown.delete(h);
    } else this.pooledDown.add(h);
  }
  resultDown(h: string): void {
    if (this.up.get(h)) {
      this.up.set(h, false);
      if (this.pool.get(h)) this.depool(h);
    }
  }
  resultUp(h: string): void {
    if (!this.up.get(h)) {
      this.up.set(h, true);
      if (this.enabled.get(h)) {
        this.pool.set(h, true);
        this.pooledDown.delete(h);
        while (this.pooledDown.size > 0 && this.canDepool()) this.depool([...this.pooledDown][0]);
      }
    }
  }
}

t.test('on health events the coordinator agrees with PyBal step by step', async (t) => {
  fc.assert(
    fc.property(scenario({ healthOnly: true }), (s) => {
      let tr = start(s);
      const members = s.hosts.filter((h) => s.admin[h].pooled !== 'inactive');
      const ref = new PyBalReference(new Map(members.map((h) => [h, s.admin[h].pooled === 'yes'])), members.length, s.threshold);
      for (const e of s.events) {
        if (e.type !== 'healthChanged') continue;
        tr = applyEvent(tr.state, e);
        if (!members.includes(e.host)) continue; // PyBal never sees inactive hosts
        if (e.up) ref.resultUp(e.host);
        else ref.resultDown(e.host);
        for (const h of members) {
          if (ref.pool.get(h) !== tr.state.servers.get(h)!.pooled) throw new Error(`${h}: PyBal pool=${ref.pool.get(h)}, poold ${tr.state.servers.get(h)!.pooled}`);
        }
        const refDown = [...ref.pooledDown].sort().join();
        if (refDown !== tr.state.pooledDown.join()) throw new Error(`pooledDown: PyBal {${refDown}}, poold {${tr.state.pooledDown.join()}}`);
      }
    }),
    { numRuns: 400 },
  );
  t.pass('400 random health sequences');
});

t.test('a restart from the published state changes nothing', async (t) => {
  fc.assert(
    fc.property(scenario({ healthOnly: false }), (s) => {
      let tr = start(s);
      for (const e of s.events) tr = applyEvent(tr.state, e);
      const published = effectiveState(tr.state);
      const admin: Record<string, ConftoolValue> = {};
      for (const [h, srv] of [...tr.state.servers]) if (srv.registered) admin[h] = { weight: srv.weight, pooled: srv.pooledAdmin };
      const defined = [...tr.state.servers.keys()].filter((h) => tr.state.servers.get(h)!.defined);
      const svc = { ...service(defined, tr.state.depoolThreshold), servers: Object.fromEntries(defined.map((h) => [h, { weight: tr.state.servers.get(h)!.weight }])) };
      const restarted = createCoordinator({ at: 1000, service: svc, admin, previous: published });
      const pooledBefore = [...pooledSet(tr.state)].sort().join();
      const pooledAfter = [...pooledSet(restarted.state)].sort().join();
      if (pooledBefore !== pooledAfter) throw new Error(`restart changed the pool: {${pooledBefore}} → {${pooledAfter}}`);
      if (restarted.state.pooledDown.join() !== tr.state.pooledDown.join()) throw new Error('restart changed pooledDown');
      const moves = restarted.effects.filter((e) => ['depooled', 'repooled', 'forcePooled', 'keptPooled', 'alert'].includes(e.kind));
      if (moves.length > 0) throw new Error(`restart effects: ${JSON.stringify(moves)}`);
    }),
    { numRuns: 300 },
  );
  t.pass('300 random histories restarted');
});
