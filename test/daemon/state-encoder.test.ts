// The leader's incremental encoding of a published state (src/daemon/state-encoder.ts): the inline
// form's bytes are exactly JSON.stringify of the published state, the split form (a header and one
// value per server) decodes to the same state as the inline one, for every kind of state the coordinator builds (holds,
// first round, freeze, findings, flapping, a correlated failure), and a server that did not change is
// not built again: its object is the one of the previous publication.
import t from 'tap';
import { applyEvents, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import type { CoordinatorState } from '../../src/model/coordinator-types.js';
import { StateEncoder } from '../../src/daemon/state-encoder.js';
import { adminAll, service } from '../model/coordinator-fixtures.js';
import { decodePoolState, decodeServingView, decodeSplitPoolState } from '../../src/store/decode.js';
import { servingView } from '../../src/model/threshold-guard.js';

const HOSTS = Array.from({ length: 6 }, (_, i) => `kube${1001 + i}.eqiad.wmnet`);
const CORRELATED = { check: 'tcp', label: 'tcp', failed: 3, total: 6, share: 0.5, windowMs: 60_000 };

function states(): { what: string; state: CoordinatorState }[] {
  const out: { what: string; state: CoordinatorState }[] = [];
  let tr = createCoordinator({ at: 1000, service: service(HOSTS, 0.9), admin: adminAll(HOSTS), firstRoundTimeoutMs: 30_000 });
  out.push({ what: 'fresh, first round', state: tr.state });
  tr = applyEvents(tr.state, HOSTS.map((host, i) => ({ type: 'healthChanged' as const, at: 2000, host, up: i !== 0, reason: i === 0 ? 'refused "quoted" \\ reason' : 'ok', flapping: i === 1, findings: i === 0 ? [{ code: 'refused' as const, message: 'refused', severity: 'critical' as const }] : [] })));
  out.push({ what: 'judged: findings, flapping, a reason to escape', state: tr.state });
  tr = applyEvents(tr.state, [2, 3].map((i) => ({ type: 'adminChanged' as const, at: 3000, host: HOSTS[i]!, value: { weight: 10, pooled: 'no' as const }, revision: 50 + i })));
  out.push({ what: 'admin depools past the threshold (held)', state: tr.state });
  tr = applyEvents(tr.state, [{ type: 'freezeChanged', at: 4000, freeze: { since: 4000, until: 90_000, actor: 'alice', reason: 'maintenance' } }]);
  out.push({ what: 'frozen', state: tr.state });
  return out;
}

t.test('the bytes are JSON.stringify of the published state, and the state is the same', async (t) => {
  const all = states();
  t.ok(all.some((s) => (s.state.holds?.size ?? 0) > 0), 'a state with an admin hold is covered');
  for (const correlated of [undefined, CORRELATED]) {
    const enc = new StateEncoder();
    for (const { what, state } of all) {
      const expected = { ...effectiveState(state), ...(correlated ? { correlatedFailure: correlated } : {}) };
      const got = enc.encode(state, correlated);
      t.equal(got.inline(), JSON.stringify(expected), `${what}${correlated ? ', correlated failure' : ''}: same bytes`);
      t.strictSame(got.state, expected, `${what}: same state`);
      t.equal(enc.encode(state, correlated).inline(), got.inline(), `${what}: encoded again from the kept servers, same bytes`);
      // The split form: the header has no servers, counts them, and with the server values decodes as the inline form does.
      const header = JSON.parse(got.header) as Record<string, unknown>;
      t.equal(header.servers, undefined, `${what}: the split header carries no servers`);
      t.equal(header.hosts, state.servers.size, `${what}: it counts them`);
      t.same(header.notServing, [...servingView(expected).notServing].sort(), `${what}: and names those not serving, sorted (the guard's view)`);
      t.same(decodeServingView(`/poold/v1/state/eqiad/${state.name}`, got.header).notServing, servingView(expected).notServing, `${what}: the guard's view from the header alone`);
      t.strictSame([...got.servers.keys()], [...state.servers.keys()], `${what}: one value per server`);
      for (const [host, v] of got.servers) t.equal(v, JSON.stringify(expected.servers[host]), `${what}: ${host}'s value`);
      const where = `/poold/v1/state/eqiad/${state.name}`;
      t.strictSame(decodeSplitPoolState(where, got.header, got.servers), decodePoolState(where, got.inline()), `${what}: both forms decode alike`);
      // The leader serves `state` at commit without decoding (daemon/watch-state.ts): it must be what readers decode.
      t.strictSame(got.state, decodePoolState(where, got.inline()), `${what}: the state served is the one readers decode`);
    }
  }
});

t.test('a server that did not change is not built again', async (t) => {
  const enc = new StateEncoder();
  const first = createCoordinator({ at: 1000, service: service(HOSTS, 0.3), admin: adminAll(HOSTS) });
  const a = enc.encode(first.state);
  t.equal(a.changed, null, 'a first encoding: every host is new');
  // The encoder's value map is its own (updated in place): what `a` said, as it said it.
  const aValues = new Map(a.servers);
  const next = applyEvents(first.state, [{ type: 'adminChanged', at: 2000, host: HOSTS[0]!, value: { weight: 10, pooled: 'no' } }]);
  const b = enc.encode(next.state);
  t.strictSame(b.changed, [HOSTS[0]!], 'only the changed host is named');
  t.equal(b.previous, a.state, 'relative to the previous state');
  const c = enc.encode(next.state);
  t.strictSame(c.changed, [], 'encoded again: nothing changed');
  t.equal(c.state.servers, b.state.servers, 'and the servers record is the same object');
  t.equal(b.state.servers[HOSTS[0]!]!.pooled, false, 'the changed server is new');
  t.not(b.state.servers[HOSTS[0]!], a.state.servers[HOSTS[0]!]);
  for (const h of HOSTS.slice(1)) t.equal(b.state.servers[h], a.state.servers[h], `${h}: the same object as before`);
  t.equal(b.inline(), JSON.stringify(effectiveState(next.state)));
  t.equal(b.servers.get(HOSTS[1]!), aValues.get(HOSTS[1]!), 'an unchanged server keeps its value');
  t.not(b.servers.get(HOSTS[0]!), aValues.get(HOSTS[0]!), 'the changed one has a new value');
});

t.test('incremental: a host replaced, added or removed encodes exactly as a fresh encoder does', async (t) => {
  const enc = new StateEncoder();
  const base = createCoordinator({ at: 1000, service: service(HOSTS, 0.3), admin: adminAll(HOSTS) });
  enc.encode(base.state);
  const others = [[...HOSTS.slice(0, 5), 'kube2001.eqiad.wmnet'], [...HOSTS, 'kube2002.eqiad.wmnet'], HOSTS.slice(1)];
  for (const hosts of others) {
    const next = createCoordinator({ at: 2000, service: service(hosts, 0.3), admin: adminAll(hosts) });
    const got = enc.encode(next.state);
    const fresh = new StateEncoder().encode(next.state);
    t.equal(got.inline(), fresh.inline(), `${hosts.length} hosts: same inline bytes`);
    t.equal(got.header, fresh.header, 'same header');
    t.same([...got.servers.keys()], hosts, 'exactly these servers');
    t.equal(got.changed, null, 'other hosts: any server may differ');
  }
});

t.test('through holds taken, their writer shown and released, each encoding is what a fresh encoder makes', async (t) => {
  // The coordinator's maps say which servers changed (model/server-map.ts); a held server is built every
  // time, and the one whose hold just went must be built once more.
  const enc = new StateEncoder();
  let tr = createCoordinator({ at: 1000, service: service(HOSTS, 0.9), admin: adminAll(HOSTS) });
  tr = applyEvents(tr.state, HOSTS.map((host) => ({ type: 'healthChanged' as const, at: 1500, host, up: true, reason: 'ok' })));
  enc.encode(tr.state);
  const steps: { what: string; events: Parameters<typeof applyEvents>[1]; held: boolean }[] = [
    { what: 'an admin depool held by the threshold', events: [{ type: 'adminChanged', at: 2000, host: HOSTS[2]!, value: { weight: 10, pooled: 'no' }, revision: 70 }], held: true },
    { what: 'its writer found', events: [{ type: 'adminWriter', at: 2100, host: HOSTS[2]!, revision: 70, writer: { actor: 'alice', reason: 'deploy' } }], held: true },
    { what: 'a health change elsewhere', events: [{ type: 'healthChanged', at: 2200, host: HOSTS[4]!, up: true, reason: 'ok again' }], held: true },
    { what: 'the depool withdrawn: the hold goes', events: [{ type: 'adminChanged', at: 2300, host: HOSTS[2]!, value: { weight: 10, pooled: 'yes' }, revision: 71 }], held: false },
  ];
  for (const { what, events, held } of steps) {
    tr = applyEvents(tr.state, events);
    t.equal(tr.state.holds?.has(HOSTS[2]!) ?? false, held, `${what}: the hold is ${held ? 'there' : 'gone'}`);
    const got = enc.encode(tr.state);
    t.equal(got.inline(), new StateEncoder().encode(tr.state).inline(), `${what}: the bytes a fresh encoder makes`);
    t.ok(got.changed?.includes(HOSTS[2]!), `${what}: the host held (or just released) is built again`);
    t.equal(got.state.servers[HOSTS[2]!]!.adminHold !== undefined, held, `${what}: its published hold`);
  }
});

t.test('servers given as a plain Map (not the coordinator\'s): compared host by host, same result', async (t) => {
  const enc = new StateEncoder();
  const first = createCoordinator({ at: 1000, service: service(HOSTS, 0.3), admin: adminAll(HOSTS) });
  enc.encode({ ...first.state, servers: new Map(first.state.servers) });
  const next = applyEvents(first.state, [{ type: 'adminChanged', at: 2000, host: HOSTS[3]!, value: { weight: 10, pooled: 'no' } }]);
  const got = enc.encode({ ...next.state, servers: new Map(next.state.servers) });
  t.strictSame(got.changed, [HOSTS[3]!], 'only the changed host is named');
  t.equal(got.inline(), JSON.stringify(effectiveState(next.state)), 'the bytes of the state');
});
