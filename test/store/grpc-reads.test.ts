// The CLI's Kv reads over gRPC (store/grpc-lite.ts: a hand-written codec for Range and read-only Txn
// over node:http2) instead of etcd's JSON gateway, which was 3-4× slower for poolctl's bulk reads at
// eqiad's size. What must hold, against a real etcd with its default limits:
// - every range form reads the same over gRPC as over the gateway (UTF-8, limits, order, revisions,
//   mod-revision filters, lease ids above 2^53);
// - getMany: keys in order, absent ones undefined, more keys than one transaction's 128 reads, all at
//   one revision; the etcd3 adapter (no getMany) falls back to gets;
// - behind an endpoint that speaks HTTP/1 only, reads fall back to the gateway instead of failing;
// - TLS with client certificates and an etcd user (token) work over gRPC, permission errors stay typed.
import t, { type Test } from 'tap';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addPrefixUser, enableAuth, startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { getMany } from '../../src/store/get-many.js';
import { PermissionDeniedError } from '../../src/store/errors.js';
import type { RangeRequest } from '../../src/store/kv.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());

const grpc = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => grpc.close());

/** A gateway client that reads over JSON (the path before, and the fallback). */
async function viaJson<T>(tt: Test, fn: (kv: GatewayKv) => Promise<T>): Promise<T> {
  const kv = new GatewayKv({ endpoints: etcd.endpoints });
  process.env.POOLD_ETCD_JSON_READS = '1';
  try {
    tt.equal(kv.readTransport, 'json', 'this client reads through the gateway');
    return await fn(kv);
  } finally {
    delete process.env.POOLD_ETCD_JSON_READS;
    await kv.close();
  }
}

const put = (key: string, value: string, lease?: string) => grpc.txn({ compare: [], success: [{ type: 'put', key, value, ...(lease ? { lease } : {}) }] });

t.test('every range form reads the same over gRPC as over the JSON gateway', async (t) => {
  const first = (await put('/g/a', 'héllo ✓ "quoted"')).revision;
  await put('/g/b', '');
  await put('/g/c', 'x'.repeat(300_000));
  await put('/g/a', 'second');
  // A lease id is an int64 that is usually above 2^53: it must come through as etcd's decimal text.
  const grant = await fetch(`${etcd.clientUrl}/v3/lease/grant`, { method: 'POST', body: JSON.stringify({ TTL: 600 }) });
  const lease = ((await grant.json()) as { ID: string }).ID;
  await put('/g/leased', 'l', lease);
  const last = (await put('/g/d', '4')).revision;
  const forms: RangeRequest[] = [
    { key: '/g/', prefix: true },
    { key: '/g/', prefix: true, limit: 2, order: 'descend' },
    { key: '/g/', prefix: true, revision: first },
    { key: '/g/', prefix: true, modRevision: { min: first + 1, max: last - 1 } },
    { key: '/g/a', end: '/g/c' },
    { key: '/g/leased' },
    { key: '/g/missing' },
  ];
  for (const f of forms) {
    const a = await grpc.range(f);
    const b = await viaJson(t, (kv) => kv.range(f));
    t.same(a, b, JSON.stringify(f));
  }
  t.equal(grpc.readTransport, 'grpc', 'the reads above went over gRPC');
  const leased = await grpc.get('/g/leased');
  t.equal(leased?.lease, lease, 'the lease id, exactly');
  t.equal((await grpc.get('/g/c'))?.value.length, 300_000, 'a large value in one piece');
  t.equal((await grpc.range({ key: '/g/', prefix: true, revision: first })).kvs[0]?.value, 'héllo ✓ "quoted"', 'UTF-8 at an old revision');
});

t.test('getMany: in order, absent ones undefined, over several transactions, at one revision', async (t) => {
  const keys = Array.from({ length: 300 }, (_, i) => `/many/${String(i).padStart(3, '0')}`);
  for (let i = 0; i < keys.length; i += 100) {
    await grpc.txn({ compare: [], success: keys.slice(i, i + 100).filter((_, j) => (i + j) % 7 !== 0).map((k) => ({ type: 'put' as const, key: k, value: `v${k}` })) });
  }
  // Read them in reverse order: the answer follows the order asked.
  const want = [...keys].reverse();
  const r = await grpc.getMany(want);
  t.equal(r.entries.length, 300);
  t.same(r.entries.map((e) => e?.value), want.map((k) => (Number(k.slice(-3)) % 7 === 0 ? undefined : `v${k}`)), 'every entry in place');
  t.ok(r.revision >= Math.max(...r.entries.map((e) => e?.modRevision ?? 0)), 'one revision covers every entry');
  t.same(await viaJson(t, (kv) => kv.getMany(want)), r, 'the gateway reads the same');
  const etcd3 = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
  t.teardown(() => etcd3.close());
  t.same((await getMany(etcd3, want)).entries.map((e) => e?.value), r.entries.map((e) => e?.value), 'the etcd3 adapter falls back to gets');
  t.same(await getMany(grpc, []), { entries: [], revision: 0 });
});

t.test('behind an HTTP/1-only endpoint, reads fall back to the JSON gateway', async (t) => {
  const target = new URL(etcd.clientUrl);
  const proxy = createServer((req, res) => {
    const up = request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.teardown(() => proxy.close());
  const kv = new GatewayKv({ endpoints: [`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`] });
  t.teardown(() => kv.close());
  t.same(await kv.range({ key: '/g/', prefix: true }), await grpc.range({ key: '/g/', prefix: true }), 'the same answer');
  t.equal(kv.readTransport, 'json', 'through the gateway');
  t.equal((await kv.getMany(['/g/d', '/g/none'])).entries.map((e) => e?.value).join(','), '4,', 'getMany too');
});

t.test('TLS with client certificates and an etcd user: reads over gRPC, refusals typed', async (t) => {
  const secure = await startEtcd({ tls: true });
  t.teardown(() => secure.stop());
  await secure.etcdctl(['put', '/conftool/v1/pools/eqiad/sca/x/h1', '{"weight": 10, "pooled": "yes"}']);
  await secure.etcdctl(['put', '/conftool/v1/pools/codfw/sca/x/h2', '{"weight": 10, "pooled": "yes"}']);
  await enableAuth(secure);
  await addPrefixUser(secure, 'ops', 'ops-pw', [{ prefix: '/conftool/v1/pools/eqiad/', perm: 'readwrite' }]);
  const tls = secure.tls!;
  const kv = new GatewayKv({ endpoints: secure.endpoints, ca: tls.caFile, cert: tls.certFile, key: tls.keyFile, user: 'ops', password: 'ops-pw' });
  t.teardown(() => kv.close());
  const r = await kv.getMany(['/conftool/v1/pools/eqiad/sca/x/h1']);
  t.equal(r.entries[0]?.value, '{"weight": 10, "pooled": "yes"}');
  t.equal(kv.readTransport, 'grpc', 'over gRPC, TLS and token');
  await t.rejects(kv.range({ key: '/conftool/v1/pools/codfw/', prefix: true }), PermissionDeniedError, 'outside the prefix: typed refusal');
  await t.rejects(kv.getMany(['/conftool/v1/pools/codfw/sca/x/h2']), PermissionDeniedError);
});
