// The decoding layer (src/store/decode.ts): every kind of etcd value poold stores or reads is
// decoded in one place. For each kind: a valid value passes through, and corrupt ones (not JSON,
// the wrong shape, a field of the wrong type, a key that disagrees with where it is stored) are an
// InvalidStoredValueError naming the key and what is wrong, never a half-decoded value.
import t, { type Test } from 'tap';
import { InvalidStoredValueError } from '../../src/model/errors.js';
import {
  decodeAuditRecord, decodeConftoolValue, decodeObservation, decodePoolState, decodeServiceDef, decodeSplitPoolState, type ServerDecodeCache,
} from '../../src/store/decode.js';
import { poolState, serviceDef } from '../lvs/lvs-fixtures.js';

const KEY = { dc: 'eqiad', name: 'cxserver' };

function rejects(t: Test, fn: () => unknown, where: string, why: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  t.type(err, InvalidStoredValueError, `${why}: typed`);
  const msg = (err as Error | undefined)?.message ?? '';
  t.ok(msg.includes(where), `names ${where}: ${msg}`);
  t.match(msg, why);
}

const GARBAGE = ['', '{', 'null', '[]', '"yes"', '42', '{"weight": 10, "pooled": "yes"'];

t.test('service definitions', async (t) => {
  const where = '/poold/v1/services/eqiad/cxserver';
  const def = serviceDef();
  t.same(decodeServiceDef(where, JSON.stringify(def), KEY), def);
  for (const g of GARBAGE) rejects(t, () => decodeServiceDef(where, g, KEY), where, /JSON|object/);
  rejects(t, () => decodeServiceDef(where, JSON.stringify({ ...def, depoolThreshold: 'half' }), KEY), where, /depoolThreshold/);
  rejects(t, () => decodeServiceDef(where, JSON.stringify({ ...def, depoolThreshold: -0.5 }), KEY), where, /depoolThreshold/);
  rejects(t, () => decodeServiceDef(where, JSON.stringify({ ...def, name: 'other' }), KEY), where, /names eqiad\/other, not eqiad\/cxserver/);
  rejects(t, () => decodeServiceDef(where, JSON.stringify({ ...def, lvs: { ...def.lvs, protocol: 'sctp' } }), KEY), where, /protocol/);
  rejects(t, () => decodeServiceDef(where, JSON.stringify({ ...def, servers: { h: { weight: 'ten' } } }), KEY), where, /weight/);
  // Per-service MED (PyBal's bgp-med): a 32-bit whole number, passed through when valid.
  for (const med of [0, 10, 4294967295]) {
    const withMed = { ...def, lvs: { ...def.lvs, bgpMed: med } };
    t.same(decodeServiceDef(where, JSON.stringify(withMed), KEY).lvs.bgpMed, med, `bgpMed ${med} passes`);
  }
  for (const med of [-1, 4294967296, 1.5, '10', null]) {
    rejects(t, () => decodeServiceDef(where, JSON.stringify({ ...def, lvs: { ...def.lvs, bgpMed: med } }), KEY), where, /bgpMed must be a whole number 0\.\.4294967295/);
  }
});

t.test('published state', async (t) => {
  const where = '/poold/v1/state/eqiad/cxserver';
  const st = poolState(serviceDef(), { h1: {}, h2: { pooledAdmin: 'no' } }, 3);
  t.same(decodePoolState(where, JSON.stringify(st), KEY), st);
  for (const g of GARBAGE) rejects(t, () => decodePoolState(where, g, KEY), where, /JSON|object/);
  rejects(t, () => decodePoolState(where, JSON.stringify({ ...st, servers: { h1: { ...st.servers.h1, up: 'yes' } } }), KEY), `${where} servers.h1`, /"up" must be true or false/);
  rejects(t, () => decodePoolState(where, JSON.stringify({ ...st, servers: { h1: { ...st.servers.h1, pooledAdmin: 'maybe' } } }), KEY), where, /pooledAdmin/);
  rejects(t, () => decodePoolState(where, JSON.stringify({ ...st, revision: -1 }), KEY), where, /revision/);
  rejects(t, () => decodePoolState(where, JSON.stringify({ ...st, servers: [] }), KEY), where, /servers: expected an object/);
  rejects(t, () => decodePoolState(where, JSON.stringify({ ...st, dc: 'codfw' }), KEY), where, /names codfw\/cxserver/);
  rejects(t, () => decodePoolState(where, JSON.stringify({ ...st, pool: 'sca/cxserver' }), KEY), where, /pool: expected an object/);
});

t.test('observations', async (t) => {
  const where = '/poold/v1/health/eqiad/cxserver/h1/obs1';
  const obs = { observer: 'someone-else', up: false, reason: 'http: refused', code: 'refused', at: 1_700_000_000_000, flapping: true, checks: { http: { up: false, code: 'refused', message: 'refused', timings: { totalMs: 1 }, findings: [] } } };
  // The observer is where the value is stored, not what it claims.
  t.same(decodeObservation(where, JSON.stringify(obs), 'obs1'), { ...obs, observer: 'obs1' });
  for (const g of GARBAGE) rejects(t, () => decodeObservation(where, g, 'obs1'), where, /JSON|object/);
  rejects(t, () => decodeObservation(where, JSON.stringify({ ...obs, up: 'no' }), 'obs1'), where, /"up" must be true or false/);
  rejects(t, () => decodeObservation(where, JSON.stringify({ ...obs, at: 'now' }), 'obs1'), where, /"at" must be a number/);
  rejects(t, () => decodeObservation(where, JSON.stringify({ ...obs, reason: 7 }), 'obs1'), where, /"reason" must be a string/);
  rejects(t, () => decodeObservation(where, JSON.stringify({ ...obs, checks: { http: { code: 'ok' } } }), 'obs1'), `${where} checks.http`, /"up" must be true or false/);
});

t.test('conftool values', async (t) => {
  const where = '/conftool/v1/pools/eqiad/sca/cxserver/h1';
  t.same(decodeConftoolValue(where, '{"weight": 7, "pooled": "no", "extra": [1]}'), { weight: 7, pooled: 'no', extra: [1] });
  for (const g of GARBAGE) rejects(t, () => decodeConftoolValue(where, g), where, /JSON|object/);
  rejects(t, () => decodeConftoolValue(where, '{"weight": 7, "pooled": "maybe"}'), where, /"pooled" must be one of yes, no, inactive/);
  rejects(t, () => decodeConftoolValue(where, '{"weight": -1, "pooled": "yes"}'), where, /"weight" must be a non-negative integer/);
  rejects(t, () => decodeConftoolValue(where, '{"pooled": "yes"}'), where, /"weight" is missing/);
});

t.test('audit records', async (t) => {
  const where = '/poold/v1/audit/2026-12-06T10:00:00.000Z-abcd-0000';
  const rec = { actor: 'alice', reason: 'deploy', key: '/conftool/v1/pools/eqiad/sca/cxserver/h1', before: { weight: 1, pooled: 'yes' }, after: { weight: 1, pooled: 'no' }, time: '2026-12-06T10:00:00.000Z', op: 'op1' };
  t.same(decodeAuditRecord(where, 'id1', JSON.stringify(rec), 42), { ...rec, id: 'id1', revision: 42 });
  for (const g of GARBAGE) rejects(t, () => decodeAuditRecord(where, 'id1', g, 42), where, /JSON|expected/);
  rejects(t, () => decodeAuditRecord(where, 'id1', JSON.stringify({ ...rec, actor: 7 }), 42), where, /expected \{actor/);
  rejects(t, () => decodeAuditRecord(where, 'id1', JSON.stringify({ ...rec, key: null }), 42), where, /expected \{actor/);
});

t.test('split state: a decode cache decodes only the servers whose value changed, and checks the count', async (t) => {
  const where = '/poold/v1/state/eqiad/cxserver';
  const header = (n: number) => JSON.stringify({ dc: 'eqiad', name: 'cxserver', pool: { cluster: 'sca', service: 'cxserver' }, revision: 3, updatedAt: 1, depoolThreshold: 0.5, pooledDown: [], hosts: n, notServing: [] });
  const server = (weight: number) => JSON.stringify({ pooledAdmin: 'yes', enabled: true, up: true, pooled: true, weight, reason: 'ok' });
  const cache: ServerDecodeCache = new Map();
  const a = decodeSplitPoolState(where, header(2), new Map([['h1', server(10)], ['h2', server(10)]]), undefined, cache);
  const b = decodeSplitPoolState(where, header(2), new Map([['h1', server(10)], ['h2', server(20)]]), undefined, cache);
  t.equal(b.servers.h1, a.servers.h1, 'an unchanged value: the same decoded object');
  t.not(b.servers.h2, a.servers.h2, 'a changed value: decoded again');
  t.equal(b.servers.h2!.weight, 20);
  const c = decodeSplitPoolState(where, header(1), new Map([['h1', server(10)]]), undefined, cache);
  t.same(Object.keys(c.servers), ['h1']);
  t.same([...cache.keys()], ['h1'], 'a server gone is forgotten');
  t.throws(() => decodeSplitPoolState(where, header(2), new Map([['h1', server(10)]]), undefined, cache), { message: /"hosts" says 2 servers, but 1 server keys/ });
  t.throws(() => decodeSplitPoolState(where, header(1), new Map([['h1', '{"pooled": "maybe"}']]), undefined, cache), InvalidStoredValueError, 'a bad server value is an error naming it');
});
