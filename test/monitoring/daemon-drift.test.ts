// The daemon compares the deployed pybal.conf with the pool definitions it runs and puts the result
// in /alerts (cxserver incident: PyBal checked `/`, pools/ said `/_info`); fixing the file clears it.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import { loadPoolsOrThrow } from '../../src/config/pools/index.js';
import { renderPybalForDc } from '../../src/config/pybal-render.js';

const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 18083 }
    depool_threshold: 0.5
    checks: [{ kind: http, path: /_info, host: cxserver.svc.eqiad.wmnet, timeout: 500ms, interval: 300ms }]
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.34.0.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.34.0.2 }
`;

t.test('drift between the deployed pybal.conf and pools/ is CRITICAL in /alerts, and clears when fixed', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const dir = mkdtempSync(join(tmpdir(), 'poold-drift-'));
  writeFileSync(join(dir, 'eqiad.yaml'), POOLS);
  t.equal((await runPoolctl(['sync', dir], { POOLD_ETCD: etcd.clientUrl })).code, 0);
  const services = await loadPoolsOrThrow(dir);
  const good = renderPybalForDc(services, 'eqiad', 'http://poold.svc.eqiad.wmnet:9090');
  const pybal = join(dir, 'pybal.conf');
  // The incident: the deployed LVS check still asks for `/`.
  writeFileSync(pybal, good.replace('http://cxserver.svc.eqiad.wmnet/_info', 'http://cxserver.svc.eqiad.wmnet/'));
  const daemon = new Daemon({
    etcd: { endpoints: etcd.endpoints }, observer: 'drift-test', quorum: 'majority', host: '127.0.0.1', port: 0,
    leaseTtlSeconds: 2, log: createLogger('error'), dcs: ['eqiad'], drift: { pybalFile: pybal, intervalMs: 300 },
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const alerts = async () => (await fetch(`${daemon.url}/alerts`)).text();
  const waitAlerts = async (re: RegExp) => {
    for (let i = 0; i < 60 && !re.test(await alerts()); i++) await new Promise((r) => setTimeout(r, 100));
    return alerts();
  };
  const critical = await waitAlerts(/CRITICAL/);
  t.match(critical, /^CRITICAL - cxserver_18083: configuration drift: .*pybal check path: pools\/ says \/_info, deployed has \/$/, 'names the pool and both sides');
  t.match(critical, /pybal\.conf:\d+/, 'says where in the deployed file');
  writeFileSync(pybal, good);
  const fixed = await waitAlerts(/^OK/);
  t.notMatch(fixed, /drift/, `drift cleared after the file was regenerated: ${fixed}`);
});
