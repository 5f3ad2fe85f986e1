// etcd with TLS and auth: a user allowed only under one pool's prefix can depool there and gets a
// typed permission error naming the key anywhere else; both adapters; client certs over TLS.
import t from 'tap';
import { addPrefixUser, enableAuth, startEtcd } from '../helpers/etcd.js';
import { openKv, type KvAdapter } from '../../src/store/connection.js';
import { AuthenticationError, PermissionDeniedError, StoreUnavailableError } from '../../src/store/errors.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts } from '../../src/store/write.js';

const etcd = await startEtcd({ tls: true });
t.teardown(() => etcd.stop());
const tls = etcd.tls!;
const keys = new Keys();
const allowed = keys.host({ dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: 'sca1001' });
const elsewhere = keys.host({ dc: 'codfw', cluster: 'sca', service: 'cxserver', host: 'sca2001' });
await etcd.etcdctl(['put', allowed, '{"weight": 10, "pooled": "yes"}']);
await etcd.etcdctl(['put', elsewhere, '{"weight": 10, "pooled": "yes"}']);
await enableAuth(etcd);
await addPrefixUser(etcd, 'sca-ops', 'sca-pw', [
  { prefix: '/conftool/v1/pools/eqiad/sca/', perm: 'readwrite' },
  { prefix: keys.auditPrefix(), perm: 'write' },
]);

const tlsOpts = { ca: tls.caFile, cert: tls.certFile, key: tls.keyFile };

for (const adapter of ['gateway', 'etcd3'] as KvAdapter[]) {
  t.test(`${adapter}: prefix-limited user`, async (t) => {
    const kv = await openKv({ endpoints: etcd.endpoints, ...tlsOpts, user: 'sca-ops', password: 'sca-pw' }, adapter);
    t.teardown(() => kv.close());
    const ctx = { keys, actor: 'ops', reason: adapter };
    const ok = await updateHosts(kv, [{ key: allowed, patch: { pooled: adapter === 'gateway' ? 'no' : 'yes' } }], ctx);
    t.ok(ok.revision > 0, 'depool inside the granted prefix works (audit record included)');

    const err = await updateHosts(kv, [{ key: elsewhere, patch: { pooled: 'no' } }], ctx).catch((e: unknown) => e);
    t.type(err, PermissionDeniedError);
    t.match((err as Error).message, `permission denied: etcd user "sca-ops" may not read ${elsewhere}`);
    t.same((err as PermissionDeniedError).context.keys, [elsewhere]);
    t.equal((err as PermissionDeniedError).context.user, 'sca-ops');

    const werr = await kv.txn({ compare: [], success: [{ type: 'put', key: elsewhere, value: 'x' }] }).catch((e: unknown) => e);
    t.type(werr, PermissionDeniedError, 'a blind write elsewhere is refused too');
    t.match((werr as Error).message, `may not write ${elsewhere}`);
  });

  t.test(`${adapter}: wrong password is AuthenticationError, without the password in it`, async (t) => {
    const kv = await openKv({ endpoints: etcd.endpoints, ...tlsOpts, user: 'sca-ops', password: 'wrong-pw-123' }, adapter);
    t.teardown(() => kv.close());
    const err = await kv.get(allowed).catch((e: unknown) => e);
    t.type(err, AuthenticationError);
    t.notMatch(String(err) + JSON.stringify((err as AuthenticationError).context), /wrong-pw-123/);
  });
}

t.test('TLS: a client that does not trust the CA cannot connect', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints, user: 'sca-ops', password: 'sca-pw', timeoutMs: 1000 }, 'gateway');
  t.teardown(() => kv.close());
  await t.rejects(kv.get(allowed), StoreUnavailableError);
});
