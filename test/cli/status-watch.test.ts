// poolctl status prints the table from etcd; --watch then follows poold's event stream, so an
// operator sees a depool land (admin change, then the effective state) without polling.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { POOLCTL, runPoolctl } from '../helpers/poolctl.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import { SseParser } from '../../src/cli/event-stream.js';

const PORT = 18082;
const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: ${PORT} }
    depool_threshold: 0.3
    checks: [{ kind: http, path: /_info, timeout: 500ms, interval: 200ms, rise: 1, fall: 1 }]
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.33.0.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.33.0.2 }
      sca1003.eqiad.wmnet: { weight: 10, address: 127.33.0.3 }
`;

t.test('SSE parser: records, multi-line data, comments, split chunks', async (t) => {
  const got: Array<{ id?: string; event?: string; data: string }> = [];
  const p = new SseParser((r) => got.push(r));
  p.push(': heartbeat\n\nid: 1\nevent: state\ndata: {"a"');
  p.push(':1}\n\nid: 2\ndata: x\ndata: y\n\n');
  t.same(got, [{ id: '1', event: 'state', data: '{"a":1}' }, { id: '2', data: 'x\ny' }]);
});

t.test('status --watch shows a depool as it happens', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const sim = await startSimulator({ backends: [1, 2, 3].map((n) => ({ address: `127.33.0.${n}`, port: PORT, behaviour: 'ok' as const })) });
  t.teardown(() => sim.stop());
  const dir = mkdtempSync(join(tmpdir(), 'poold-watch-'));
  writeFileSync(join(dir, 'eqiad.yaml'), POOLS);
  const env = { POOLD_ETCD: etcd.clientUrl };
  t.equal((await runPoolctl(['sync', dir], env)).code, 0);
  const daemon = new Daemon({ etcd: { endpoints: etcd.endpoints }, observer: 'watch-test', quorum: 'majority', host: '127.0.0.1', port: 0, leaseTtlSeconds: 2, log: createLogger('error') });
  await daemon.start();
  t.teardown(() => daemon.stop());

  const child = spawn(process.execPath, [POOLCTL, 'status', 'cxserver', '--watch', '--api', daemon.url], { env: { PATH: process.env.PATH ?? '', ...env } });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => (out += c));
  const waitFor = async (re: RegExp, ms: number) => {
    const until = Date.now() + ms;
    while (!re.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return re.test(out);
  };
  t.ok(await waitFor(/HOST\s+ADMIN\s+WEIGHT\s+UP\s+POOLED\s+REASON/, 10_000), 'prints the table first');
  t.match(out, /sca1003\.eqiad\.wmnet\s+yes\s+10/, 'table lists the host with its admin state');
  // Give the watcher a moment to connect, then depool.
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await runPoolctl(['depool', 'sca1002', '--reason', 'watch me'], env)).code, 0);
  t.ok(await waitFor(/sca1002\.eqiad\.wmnet: admin .*"pooled":"yes".* -> .*"pooled":"no".* by tester: watch me/, 5000), `admin change shown:\n${out}`);
  t.ok(await waitFor(/sca1002\.eqiad\.wmnet: pooled -> not pooled/, 5000), `effective change shown:\n${out}`);
  child.kill('SIGINT');
});
