// Small pieces of the agent: option checks, stored-value decoding, the caching resolver.
import t from 'tap';
import { runAgent } from '../../src/lvs/agent.js';
import { parsePoolDetail } from '../../src/lvs/agent-codec.js';
import { decodePoolState, decodeServiceDef } from '../../src/store/decode.js';
import { cachingResolver } from '../../src/lvs/agent-resolve.js';
import { InvalidStoredValueError, UsageError } from '../../src/model/errors.js';
import { poolState, serviceDef } from './lvs-fixtures.js';

const key = { dc: 'eqiad', name: 'cxserver' };
const etcdSource = { kind: 'etcd' as const, etcd: { endpoints: ['http://127.0.0.1:1'] } };

t.test('bad options are usage errors before anything starts', async (t) => {
  await t.rejects(runAgent({ host: '', source: etcdSource, listen: false }), UsageError);
  await t.rejects(runAgent({ host: 'lvs1001', services: ['eqiad/sca/cxserver'], source: etcdSource, listen: false }),
    { name: 'UsageError', message: /--services entry "eqiad\/sca\/cxserver" is not dc\/name/ });
  await t.rejects(runAgent({ host: 'lvs1001', source: { kind: 'poold', url: 'poold:9090' }, listen: false }),
    { name: 'UsageError', message: /--poold "poold:9090" is not an http\(s\) URL/ });
  await t.rejects(runAgent({ host: 'lvs1001', source: etcdSource, periodMs: 5, listen: false }), { message: /too short/ });
});

t.test('service definitions and states are checked where the agent relies on them', async (t) => {
  const def = serviceDef();
  t.same(decodeServiceDef('k', JSON.stringify(def), key), def, 'a valid definition passes through unchanged');
  const bad = (raw: string, re: RegExp, fn: (raw: string) => unknown = (r) => decodeServiceDef('/poold/v1/services/eqiad/sca/cxserver', r, key)) =>
    t.throws(() => fn(raw), { name: 'InvalidStoredValueError', message: re });
  bad('{', /\/poold\/v1\/services\/eqiad\/sca\/cxserver: not valid JSON/);
  bad('[]', /invalid service definition at \/poold\/v1\/services\/eqiad\/sca\/cxserver: not a JSON object/);
  bad(JSON.stringify({ ...def, name: 'other' }), /names eqiad\/other, not eqiad\/cxserver/);
  bad(JSON.stringify({ ...def, pool: null }), /pool must be an object/);
  bad(JSON.stringify({ ...def, lvs: { ...def.lvs, protocol: 'sctp' } }), /lvs.protocol must be tcp or udp/);
  bad(JSON.stringify({ ...def, lvs: { ...def.lvs, port: 0 } }), /lvs.port must be 1-65535/);
  bad(JSON.stringify({ ...def, lvs: { ...def.lvs, method: 'x' } }), /lvs: "method" must be g, i or m/);
  bad(JSON.stringify({ ...def, lvs: { ...def.lvs, scheduler: 'wrr; rm' } }), /is not a scheduler name/);
  bad(JSON.stringify({ ...def, servers: { h: { weight: 1, address: 7 } } }), /servers.h: "address" must be a string/);

  const st = poolState(def, { h1: {}, h2: { pooledAdmin: 'no' } }, 3);
  t.same(decodePoolState('k', JSON.stringify(st), key), st);
  const sbad = (v: unknown, re: RegExp) => bad(JSON.stringify(v), re, (r) => decodePoolState('S', r, key));
  sbad({ ...st, servers: { h1: { ...st.servers.h1, pooled: 'yes' } } }, /S servers.h1: "pooled" must be true or false/);
  sbad({ ...st, servers: { h1: { ...st.servers.h1, pooledAdmin: 'maybe' } } }, /"pooledAdmin" must be one of yes, no, inactive/);
  sbad({ ...st, servers: { h1: { ...st.servers.h1, weight: -1 } } }, /"weight" must be an integer/);
  sbad({ ...st, revision: 'x' }, /"revision" must be an integer/);
  t.ok(new InvalidStoredValueError('x') instanceof Error);
});

t.test('poold API detail → LvsDef + PoolState', async (t) => {
  const body = {
    ...key, cluster: 'sca', service: 'cxserver', revision: 9, updatedAt: 5, threshold: { depoolThreshold: 0.5 },
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    hosts: [
      { host: 'h1', admin: { pooled: 'yes', weight: 10 }, effective: { enabled: true, up: false, pooled: true, weight: 10 }, reason: 'down', keptByThreshold: true },
      { host: 'h2', admin: { pooled: 'no', weight: 3 }, effective: { enabled: false, up: true, pooled: false, weight: 3 } },
    ],
  };
  const r = parsePoolDetail(body, 'D', key);
  t.same(r.lvs, body.lvs);
  t.same(r.state, {
    ...key, pool: { cluster: 'sca', service: 'cxserver' }, revision: 9, updatedAt: 5, depoolThreshold: 0.5, pooledDown: ['h1'],
    servers: {
      h1: { pooledAdmin: 'yes', enabled: true, up: false, pooled: true, weight: 10, reason: 'down', flapping: false, findings: [] },
      h2: { pooledAdmin: 'no', enabled: false, up: true, pooled: false, weight: 3, reason: '', flapping: false, findings: [] },
    },
  });
  t.same(parsePoolDetail({ ...body, revision: null }, 'D', key).state, undefined, 'no state published yet');
  t.throws(() => parsePoolDetail({ ...body, hosts: [{ host: 'h1', admin: {}, effective: {} }] }, 'D', key), /D hosts\[0\] admin: "pooledAdmin" must be one of/);
  // Per-service MED (PyBal's bgp-med) reaches the agent; a bad one is refused, naming the field.
  t.same(parsePoolDetail({ ...body, lvs: { ...body.lvs, bgpMed: 10 } }, 'D', key).lvs, { ...body.lvs, bgpMed: 10 });
  t.throws(() => parsePoolDetail({ ...body, lvs: { ...body.lvs, bgpMed: -1 } }, 'D', key), /D lvs: "bgpMed" must be an integer 0\.\.4294967295/);
  t.throws(() => parsePoolDetail({ ...body, lvs: { ...body.lvs, bgpMed: 4294967296 } }, 'D', key), /D lvs: "bgpMed" must be an integer 0\.\.4294967295/);
});

t.test('resolver caches answers and, briefly, failures', async (t) => {
  let now = 0;
  const calls: string[] = [];
  const resolve = cachingResolver({
    now: () => now, ttlMs: 1000, negativeTtlMs: 100,
    lookupFn: async (host, family) => {
      calls.push(`${family} ${host}`);
      if (host === 'gone.test') throw new Error('ENOTFOUND');
      return family === 4 ? '10.0.0.1' : '2620::1';
    },
  });
  t.equal(await resolve('a.test', 4), '10.0.0.1');
  t.equal(await resolve('a.test', 6), '2620::1');
  t.equal(await resolve('a.test', 4), '10.0.0.1');
  t.equal(await resolve('gone.test', 4), undefined);
  t.equal(await resolve('gone.test', 4), undefined);
  t.same(calls, ['4 a.test', '6 a.test', '4 gone.test'], 'cached');
  now = 150;
  await resolve('gone.test', 4);
  await resolve('a.test', 4);
  t.same(calls.slice(3), ['4 gone.test'], 'failure retried after its short ttl, answer still cached');
  now = 1100;
  await resolve('a.test', 4);
  t.same(calls.slice(4), ['4 a.test'], 'answer refreshed after its ttl');
});

t.test('agent resolver: a resolver outage keeps the last answer; NXDOMAIN drops it', async (t) => {
  let now = 0;
  let fail: string | undefined;
  const resolve = cachingResolver({
    now: () => now, ttlMs: 1000, negativeTtlMs: 100,
    lookupFn: async () => {
      if (fail) throw Object.assign(new Error(`getaddrinfo ${fail}`), { code: fail });
      return '10.0.0.1';
    },
  });
  t.equal(await resolve('a.test', 4), '10.0.0.1');
  fail = 'EAI_AGAIN';
  now = 1100;
  t.equal(await resolve('a.test', 4), '10.0.0.1', 'resolver down after the ttl: the last answer stays');
  now = 1300;
  t.equal(await resolve('a.test', 4), '10.0.0.1', 'and again after the short ttl');
  t.equal(await resolve('never.test', 4), undefined, 'a name never resolved has nothing to keep');
  fail = 'ENOTFOUND';
  now = 1500;
  t.equal(await resolve('a.test', 4), undefined, 'the name is gone: no address');
});
