// etcd over TLS with a throwaway CA: poolctl (child process) and poold (real process) both connect
// with --etcd-ca/--etcd-cert/--etcd-key (or the POOLD_ETCD_* environment), and a client that does not
// trust the CA fails with a clear error instead of falling back to anything insecure.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { poolsDir, spawnPoold, stopPoold, text, waitFor } from '../daemon/harness.js';
import { startSimulator } from '../../src/sim/simulator.js';

const PORT = 18157;
const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: ${PORT} }
    depool_threshold: 0.5
    checks: [{ kind: tcp, interval: 300ms, rise: 1, fall: 1 }]
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.57.0.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.57.0.2 }
`;

const etcd = await startEtcd({ tls: true });
t.teardown(() => etcd.stop());
const tls = etcd.tls!;
t.ok(etcd.clientUrl.startsWith('https://'), 'etcd serves https only');
const env = { POOLD_ETCD: etcd.clientUrl, POOLD_ETCD_CA: tls.caFile, POOLD_ETCD_CERT: tls.certFile, POOLD_ETCD_KEY: tls.keyFile };
const sim = await startSimulator({ backends: ['127.57.0.1', '127.57.0.2'].map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());

t.test('poolctl syncs and depools over TLS', async (t) => {
  const r = await runPoolctl(['sync', poolsDir({ 'eqiad.yaml': POOLS })], env);
  t.equal(r.code, 0, r.stderr);
  const g = await runPoolctl(['get', 'sca1001', '--json'], env);
  t.equal(g.code, 0, g.stderr);
  t.match(g.stdout, /"pooled":\s*"yes"/);
});

t.test('poold connects with --etcd-ca/--etcd-cert/--etcd-key and sees changes', async (t) => {
  const p = await spawnPoold(etcd.clientUrl, 'tls-poold', ['--etcd-ca', tls.caFile, '--etcd-cert', tls.certFile, '--etcd-key', tls.keyFile]);
  t.teardown(() => stopPoold(p));
  await waitFor('both pooled', () => text(`${p.url}/pools/cxserver_${PORT}`), (b) => (b.match(/enabled\/up\/pooled/g) ?? []).length === 2);
  const d = await runPoolctl(['depool', 'sca1002', '--reason', 'tls test'], env);
  t.equal(d.code, 0, d.stderr);
  const line = await waitFor('sca1002 disabled', () => text(`${p.url}/pools/cxserver_${PORT}/sca1002.eqiad.wmnet`), (b) => b.startsWith('disabled'));
  t.equal(line, 'disabled/up/not pooled\n');
});

t.test('a client without the CA fails clearly, never silently', async (t) => {
  const r = await runPoolctl(['get', 'sca1001'], { POOLD_ETCD: etcd.clientUrl }, { timeoutMs: 20_000 });
  t.equal(r.code, 1);
  t.match(r.stderr, /etcd|certificate|TLS|unreachable/i);
  t.match(r.stderr, etcd.clientUrl.replace(/\/$/, ''), 'names the endpoint');
  const plain = await runPoolctl(['get', 'sca1001'], { ...env, POOLD_ETCD: etcd.clientUrl.replace('https:', 'http:') }, { timeoutMs: 20_000 });
  t.equal(plain.code, 1, 'plain http to a TLS-only etcd is refused');
});
