// PyBal 1.15, unchanged, driven by poold (issue 13): does PyBal pool exactly what poold decides?
//
// poold's side is real: its coordinator (src/model) takes the events, its server list is rendered
// by src/lvs/serverlist.ts (the body of GET /pybal/...) and parsed back with the pybal server-list
// parser. PyBal's side is the test model of PyBal 1.15's coordinator (test/helpers/pybal-model.ts),
// configured from the pybal.conf section poold renders, parsed back as PyBal reads it. After every
// event PyBal fetches the list (its HTTP observer passes it on only when it changed), DNS answers,
// and then its monitors run once; the LVS table PyBal programs must equal poold's pooled set, both
// right after the list change and after the monitors ran.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import t from 'tap';
import { parsePybalConf, type PybalServiceConf } from '../../src/config/pybal-parse.js';
import { renderPybal } from '../../src/config/pybal-render.js';
import { parsePybalServerList } from '../../src/config/pybal-servers.js';
import { renderServerList } from '../../src/lvs/serverlist.js';
import { applyEvent, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import type { CoordinatorEvent, CoordinatorState } from '../../src/model/coordinator-types.js';
import type { ServiceDef } from '../../src/model/types.js';
import { Coordinator, HttpObserver, type MonitorKind, type SectionModel, type ServerConfig } from '../helpers/pybal-model.js';
import { cxserver, httpCheck } from '../monitoring/fixtures.js';

const POOLD = 'http://poold.svc.eqiad.wmnet:9090';
const hosts = (n: number) => Array.from({ length: n }, (_, i) => `sca${1001 + i}.eqiad.wmnet`);

function service(names: string[], threshold: number): ServiceDef {
  return cxserver({ depoolThreshold: threshold, checks: [httpCheck()], servers: Object.fromEntries(names.map((h) => [h, { weight: 10 }])) });
}

/**
 * What a monitor of the rendered section does. A RunCommand is run for real, with its rendered
 * arguments, against an address and a name that exist nowhere: one that still exits 0 cannot be
 * checking anything, so it is always up. Every other monitor checks the backend.
 */
function monitorKinds(p: PybalServiceConf): MonitorKind[] {
  return p.monitors.map((m): MonitorKind => {
    if (m !== 'RunCommand' || !p.runcommand) return { kind: 'probe' };
    const args = p.runcommand.arguments.map((a) => (typeof a === 'string' ? a : a.name === 'server.ip' ? '203.0.113.1' : 'nonexistent.invalid'));
    const r = spawnSync(p.runcommand.command, args.length ? args : [''], { timeout: 5000 });
    return r.status === 0 ? { kind: 'always-up' } : { kind: 'probe' };
  });
}

function sectionOf(svc: ServiceDef, mode: 'driven' | 'monitors'): SectionModel {
  const conf = parsePybalConf(renderPybal([svc], POOLD, 'pybal.conf', { mode }).text, 'pybal.conf');
  const p = conf.services[0];
  return { monitors: monitorKinds(p), depoolThreshold: p.depoolThreshold };
}

/** poold's real coordinator, its served list, and a PyBal reading it. */
class Composition {
  state: CoordinatorState;
  readonly pybal: Coordinator;
  readonly observer: HttpObserver;
  at = 0;
  readonly log: string[] = [];

  constructor(readonly svc: ServiceDef, section: SectionModel) {
    const admin = Object.fromEntries(Object.keys(svc.servers).map((h) => [h, { weight: 10, pooled: 'yes' as const }]));
    this.state = createCoordinator({ at: 0, service: svc, admin }).state;
    this.pybal = new Coordinator(section);
    this.observer = new HttpObserver(this.pybal);
    this.fetch();
    this.pybal.resolvePending();
    this.pybal.runChecks((h) => this.healthy(h));
  }

  healthy(host: string): boolean {
    return this.state.servers.get(host)?.up ?? false;
  }

  /** poold's effective pooled hosts, as PyBal-compatible listings show them. */
  poold(): string[] {
    return [...this.state.servers.values()].filter((s) => s.pooled && s.pooledAdmin !== 'inactive').map((s) => s.host).sort();
  }

  /** PyBal's HTTP observer fetches GET /pybal/... (one fetch a second in PyBal). */
  fetch(): void {
    const body = renderServerList(effectiveState(this.state));
    const list = parsePybalServerList(body, 'http://poold/pybal/eqiad/sca/cxserver');
    this.observer.received(Object.entries(list).map(([h, e]) => [h, { enabled: e.enabled, weight: e.weight } satisfies ServerConfig] as const));
  }

  /** One poold event; then PyBal fetches, DNS answers; returns [after the list, after the checks]. */
  step(event: Ev): { afterList: string[]; afterChecks: string[]; poold: string[] } {
    this.at += 1000;
    this.state = applyEvent(this.state, { ...event, at: this.at } as CoordinatorEvent).state;
    this.fetch();
    this.pybal.resolvePending();
    const afterList = this.pybal.lvsHosts();
    this.pybal.runChecks((h) => this.healthy(h));
    const afterChecks = this.pybal.lvsHosts();
    this.log.push(`${JSON.stringify(event)} -> poold ${this.poold().join(',')} | pybal ${afterChecks.join(',')}`);
    return { afterList, afterChecks, poold: this.poold() };
  }
}

/** An event without its time (the composition stamps it). Distributes over the union. */
type Ev = CoordinatorEvent extends infer E ? (E extends CoordinatorEvent ? Omit<E, 'at'> : never) : never;

const down = (host: string): Ev => ({ type: 'healthChanged', host, up: false, reason: 'refused' });
const up = (host: string): Ev => ({ type: 'healthChanged', host, up: true, reason: 'ok' });
const admin = (host: string, pooled: 'yes' | 'no' | 'inactive'): Ev => ({ type: 'adminChanged', host, value: { weight: 10, pooled } });

t.test('the driven section: one monitor that passes whatever the backend', async (t) => {
  const section = sectionOf(service(hosts(3), 0.5), 'driven');
  t.same(section.monitors, [{ kind: 'always-up' }], 'the rendered RunCommand exits 0 against a backend that does not exist');
  t.same(sectionOf(service(hosts(3), 0.5), 'monitors').monitors, [{ kind: 'probe' }], 'the monitors rendering checks the backend (ProxyFetch)');
});

t.test('threshold-held: poold keeps down hosts pooled and PyBal, driven, pools exactly them', async (t) => {
  const [A, B, C, D] = hosts(4);
  const c = new Composition(service([A, B, C, D], 0.5), sectionOf(service([A, B, C, D], 0.5), 'driven'));
  t.same(c.pybal.lvsHosts(), [A, B, C, D], 'start: every host');
  const steps: Array<[Ev, string[]]> = [
    [down(A), [B, C, D]],
    [down(B), [C, D]],
    // 0 of 4 up and enabled would be needed >= 2: poold keeps C and then D although down.
    [down(C), [C, D]],
    [down(D), [C, D]],
    [up(A), [A, C, D]],
    // 2 of 4 up again: the kept ones go.
    [up(B), [A, B]],
    // A is one of the two serving hosts: its admin depool would leave 1 < 2, so poold holds it
    // (coordinator-hold.ts) and PyBal, driven, keeps it too...
    [admin(A, 'no'), [A, B]],
    // ...until C is up again: there is room, the held depool applies.
    [up(C), [B, C]],
    [admin(A, 'yes'), [A, B, C]],
  ];
  let heldDown = 0;
  for (const [event, expected] of steps) {
    const r = c.step(event);
    // The point: poold pools hosts it knows are down (threshold), and PyBal pools them too.
    heldDown += [...c.state.servers.values()].filter((s) => s.pooled && !s.up && r.afterChecks.includes(s.host)).length;
    t.same(r.poold, expected, `poold after ${JSON.stringify(event)}`);
    t.same(r.afterList, r.poold, `PyBal applies the list at once: ${JSON.stringify(event)}`);
    t.same(r.afterChecks, r.poold, `and its monitor changes nothing: ${JSON.stringify(event)}`);
  }
  t.equal(heldDown, 5, 'host-steps where a down host held by poold was pooled by PyBal: C; C, D; C, D');
  t.same(c.pybal.alertHosts(), [], 'PyBal never holds a host itself: its /alerts names none');
  t.same(c.pybal.callbackErrors, []);
});

t.test('a flapping host: PyBal follows poold at every flip', async (t) => {
  const [A, B, C] = hosts(3);
  const svc = service([A, B, C], 0.67);
  const c = new Composition(svc, sectionOf(svc, 'driven'));
  const events: Array<Ev> = [];
  for (let i = 0; i < 12; i++) {
    events.push(i % 2 === 0 ? down(A) : up(A));
    if (i === 3) events.push(down(B));
    if (i === 8) events.push(up(B));
  }
  let heldWhileDown = 0;
  for (const e of events) {
    const r = c.step(e);
    t.same(r.afterList, r.poold, JSON.stringify(e));
    t.same(r.afterChecks, r.poold, JSON.stringify(e));
    if ([...c.state.servers.values()].some((s) => s.pooled && !s.up)) heldWhileDown++;
  }
  t.ok(heldWhileDown > 0, `the threshold held a down host at ${heldWhileDown} steps`);
});

// Random event sequences: health flips, admin changes (inactive removes the host from PyBal's list,
// and back to yes makes it a new server), weight changes, threshold changes.
const HOSTS = hosts(5);
const eventArb = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.boolean()).map(([h, u]) => (u ? up(h) : down(h))) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom('yes' as const, 'no' as const, 'inactive' as const)).map(([h, p]) => admin(h, p)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.integer({ min: 0, max: 20 })).map(([h, w]): Ev => ({ type: 'adminChanged', host: h, value: { weight: w, pooled: 'yes' } })) },
  { weight: 1, arbitrary: fc.constantFrom(0.3, 0.5, 0.75, 1).map((th): Ev => ({ type: 'configChanged', service: service(HOSTS, th) })) },
);

t.test('random sequences: PyBal driven pools what poold pools, at every step, with poold\'s weights', async (t) => {
  const section = sectionOf(service(HOSTS, 0.5), 'driven');
  let steps = 0;
  let held = 0;
  fc.assert(
    fc.property(fc.array(eventArb, { minLength: 1, maxLength: 30 }), (events) => {
      const c = new Composition(service(HOSTS, 0.5), section);
      for (const e of events) {
        const r = c.step(e);
        steps++;
        if ([...c.state.servers.values()].some((s) => s.pooled && !s.up)) held++;
        if (JSON.stringify(r.afterList) !== JSON.stringify(r.poold) || JSON.stringify(r.afterChecks) !== JSON.stringify(r.poold)) {
          throw new Error(`PyBal ${r.afterList} / ${r.afterChecks} != poold ${r.poold}\n${c.log.join('\n')}`);
        }
        for (const s of c.pybal.lvs.servers) {
          const w = c.state.servers.get(s.host)!.weight;
          if (s.weight !== w) throw new Error(`${s.host}: PyBal weight ${s.weight}, poold ${w}\n${c.log.join('\n')}`);
        }
        if (c.pybal.callbackErrors.length > 0) throw new Error(c.pybal.callbackErrors.join('; '));
      }
    }),
    { numRuns: 300, seed: 1313 },
  );
  t.ok(steps > 1500 && held > 100, `${steps} steps compared, ${held} with a down host held pooled by the threshold`);
});

t.test('the old rendering (PyBal runs its own monitors) disagrees with poold', async (t) => {
  const [A, B, C] = hosts(3);
  const svc = service([A, B, C], 0.5);
  const c = new Composition(svc, sectionOf(svc, 'monitors'));
  t.same(c.pybal.lvsHosts(), [A, B, C]);
  // While poold's list does not change, PyBal's own threshold happens to hold what poold holds.
  t.same(c.step(down(A)).afterChecks, [B, C]);
  t.same(c.step(down(B)).afterChecks, [B, C]);
  const held = c.step(down(C));
  t.same(held.poold, [B, C], 'poold: 0 of 3 up, B and C kept pooled while down');
  t.same(held.afterChecks, [B, C]);
  t.same(c.pybal.alertHosts(), [B, C]);
  // A recovers: poold pools it and still holds B and C (1 of 3 up < 1.5). The list changes, so PyBal
  // runs refreshModifiedServers: pooled = enabled and (its own) up, no threshold.
  const r = c.step(up(A));
  t.same(r.poold, [A, B, C]);
  t.same(r.afterList, [], 'PyBal empties the pool (A has not been re-checked yet, B and C are down to it)');
  t.same(r.afterChecks, [A], "A's next check brings back A alone: 1 host where poold serves 3");
  t.same(c.pybal.alertHosts(), [B, C], "PyBal's /alerts still says B and C are 'marked down but pooled'");
  t.same([B, C].map((h) => c.pybal.servers.get(h)!.textStatus()), ['enabled/down/not pooled', 'enabled/down/not pooled'], 'while its /pools shows them not pooled');
});

t.test('no monitor at all does not work: the first list change empties the pool', async (t) => {
  const [A, B, C] = hosts(3);
  const svc = service([A, B, C], 0.5);
  const c = new Composition(svc, { monitors: [], depoolThreshold: 0.5 });
  t.same(c.pybal.lvsHosts(), [A, B, C], 'at start every enabled server is pooled (Server._ready)');
  const r = c.step(admin(A, 'no'));
  t.same(r.poold, [B, C]);
  t.same(r.afterChecks, [], 'calcStatus() of a server without monitors is False: refreshModifiedServers unpools all');
});

t.test('the documented window: a list change before a new server\'s first check unpools it until that check', async (t) => {
  const [A, B, C] = hosts(3);
  const svc = service([A, B, C], 0.5);
  const section = sectionOf(svc, 'driven');
  const admin0 = Object.fromEntries([A, B, C].map((h) => [h, { weight: 10, pooled: 'yes' as const }]));
  let state = createCoordinator({ at: 0, service: svc, admin: admin0 }).state;
  const pybal = new Coordinator(section);
  const observer = new HttpObserver(pybal);
  const feed = () => {
    const list = parsePybalServerList(renderServerList(effectiveState(state)), 'x');
    observer.received(Object.entries(list).map(([h, e]) => [h, { enabled: e.enabled, weight: e.weight }] as const));
    pybal.resolvePending();
  };
  feed();
  t.same(pybal.lvsHosts(), [A, B, C], 'PyBal started: every server pooled before any check');
  // poold depools A before PyBal's monitors first ran (within `runcommand.interval` of the start).
  state = applyEvent(state, { type: 'adminChanged', host: A, value: { weight: 10, pooled: 'no' }, at: 1 }).state;
  feed();
  t.same(pybal.lvsHosts(), [], 'B and C have no monitor result yet (up is None): unpooled');
  pybal.runChecks(() => true);
  t.same(pybal.lvsHosts(), [B, C], 'their first check (always up) repools them: the window closes');
});
