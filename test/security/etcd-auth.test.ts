// etcd authentication and roles, as operators meet them through poolctl (a child process): a user
// whose role may write only under /conftool/v1/pools/eqiad/sca/ depools there, and anywhere else gets
// exit 1 with a message naming the key and the user; nothing is written. A wrong password is a clear
// error that never echoes the password.
import t from 'tap';
import { addPrefixUser, enableAuth, startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { poolsDir } from '../daemon/harness.js';

const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 8080 }
    depool_threshold: 0.5
    checks: [{ kind: tcp }]
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.56.0.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.56.0.2 }
      sca1003.eqiad.wmnet: { weight: 10, address: 127.56.0.3 }
  parsoid:
    cluster: parsoid
    lvs: { ip: 10.2.2.28, port: 8000 }
    depool_threshold: 0.5
    checks: [{ kind: tcp }]
    servers:
      wtp1001.eqiad.wmnet: { weight: 10, address: 127.56.1.1 }
      wtp1002.eqiad.wmnet: { weight: 10, address: 127.56.1.2 }
      wtp1003.eqiad.wmnet: { weight: 10, address: 127.56.1.3 }
`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sync = await runPoolctl(['sync', poolsDir({ 'eqiad.yaml': POOLS })], { POOLD_ETCD: etcd.clientUrl });
if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
await enableAuth(etcd);
// Like conftool's per-team roles: read everything poolctl needs, write one cluster's pools, append audit.
await addPrefixUser(etcd, 'sca-ops', 'sca-pw-4711', [
  { prefix: '/conftool/v1/pools/', perm: 'read' },
  { prefix: '/conftool/v1/pools/eqiad/sca/', perm: 'readwrite' },
  { prefix: '/poold/v1/services/', perm: 'read' },
  { prefix: '/poold/v1/state/', perm: 'read' },
  { prefix: '/poold/v1/audit/', perm: 'write' },
]);
const asScaOps = { POOLD_ETCD: etcd.clientUrl, POOLD_ETCD_USER: 'sca-ops', POOLD_ETCD_PASSWORD: 'sca-pw-4711' };
const value = async (key: string) => JSON.parse(await etcd.etcdctl(['get', key, '--print-value-only']));

t.test('inside the granted prefix: depool works and is audited', async (t) => {
  const r = await runPoolctl(['depool', 'sca1001', '--reason', 'sca maintenance'], asScaOps);
  t.equal(r.code, 0, r.stderr);
  t.same(await value('/conftool/v1/pools/eqiad/sca/cxserver/sca1001.eqiad.wmnet'), { weight: 10, pooled: 'no' });
  const audit = await etcd.etcdctl(['get', '--prefix', '/poold/v1/audit/', '--print-value-only']);
  t.match(audit, /"actor":"tester".*"reason":"sca maintenance".*"key":"\/conftool\/v1\/pools\/eqiad\/sca\/cxserver\/sca1001\.eqiad\.wmnet"/);
});

t.test('outside it: exit 1, the message names the key and the user, nothing written', async (t) => {
  const key = '/conftool/v1/pools/eqiad/parsoid/parsoid/wtp1001.eqiad.wmnet';
  const r = await runPoolctl(['depool', 'wtp1001', '--reason', 'not mine'], asScaOps);
  t.equal(r.code, 1, 'failed (not usage, not a safety refusal)');
  t.match(r.stderr, 'permission denied');
  t.match(r.stderr, '"sca-ops"', 'names the etcd user');
  t.match(r.stderr, key, 'names the key');
  t.notMatch(r.stderr, /sca-pw-4711/, 'never the password');
  t.same(await value(key), { weight: 10, pooled: 'yes' }, 'unchanged');
  const audit = await etcd.etcdctl(['get', '--prefix', '/poold/v1/audit/', '--print-value-only']);
  t.notMatch(audit, /not mine/, 'no audit record of a write that did not happen');
});

t.test('a multi-pool select that reaches outside the grant writes nothing at all', async (t) => {
  const r = await runPoolctl(['select', 'name=(sca1002|wtp1002).*', 'weight', '5', '--yes', '--reason', 'mixed'], asScaOps);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /permission denied: etcd user "sca-ops" may not write/);
  t.same(await value('/conftool/v1/pools/eqiad/sca/cxserver/sca1002.eqiad.wmnet'), { weight: 10, pooled: 'yes' }, 'one transaction: the allowed half did not land either');
});

t.test('wrong password: exit 1 with a clear authentication error, password not echoed', async (t) => {
  const r = await runPoolctl(['depool', 'sca1002', '--etcd-password', 'nope-123-secret'], { ...asScaOps });
  t.equal(r.code, 1);
  t.match(r.stderr, /authenticat/i);
  t.notMatch(r.stdout + r.stderr, /nope-123-secret/);
});

t.test('no credentials against an etcd with auth: clear error', async (t) => {
  const r = await runPoolctl(['get', 'sca1001'], { POOLD_ETCD: etcd.clientUrl });
  t.equal(r.code, 1);
  t.match(r.stderr, /user|authenticat|permission/i);
});
