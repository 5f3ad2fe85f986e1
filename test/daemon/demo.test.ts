// `npm start`'s demo (dist/src/daemon/demo.js) as a user runs it: it starts an embedded etcd,
// simulated backends and poold on the sample pools/, prints where to look, serves /pools, and
// Ctrl-C (SIGINT) stops everything it started (no etcd left running). Ports come from the
// environment here (POOLD_PORT, POOLD_SIM_PORT, POOLD_ETCD_PORT) so the test never needs the fixed
// defaults 9090/9191/2379. The sample backends themselves listen on pools/' 127.10/127.20 addresses.
import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPoolsOrThrow } from '../../src/config/pools/index.js';
import { freePorts } from '../helpers/etcd-ports.js';
import { ROOT } from '../helpers/poolctl.js';
import { text, waitFor } from './harness.js';

const DEMO = join(ROOT, 'dist', 'src', 'daemon', 'demo.js');
if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run 'npx tsc -p tsconfig.json' first`);

const [api, simPort, etcdPort] = await freePorts(3);
const dataDir = join(mkdtempSync(join(tmpdir(), 'poold-demo-')), 'etcd');
const child = spawn(process.execPath, [DEMO], {
  cwd: ROOT,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin', POOLD_PORT: String(api), POOLD_SIM_PORT: String(simPort), POOLD_ETCD_PORT: String(etcdPort), POOLD_DATA_DIR: dataDir },
});
process.once('exit', () => child.kill('SIGKILL'));
let out = '';
child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));

const portOpen = (port: number) => new Promise<boolean>((res) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); res(true); });
  s.once('error', () => res(false));
});
const childrenOf = (pid: number) => execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' })
  .split('\n').map((l) => l.trim()).filter(Boolean).map((l) => { const [p, ...c] = l.split(/\s+/); return { pid: Number(p), comm: c.join(' ') }; });
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

t.test('starts and prints the URLs', async (t) => {
  await waitFor('the demo banner', async () => out, (o) => o.includes('Ctrl-C stops everything'), 45_000, 100);
  const base = `http://127.0.0.1:${api}`;
  t.match(out, `PyBal pools      ${base}/pools`);
  t.match(out, `Alerts           ${base}/alerts`);
  t.match(out, `etcd at http://127.0.0.1:${etcdPort}`);
  t.match(out, `Simulator        http://127.0.0.1:${simPort}/backends`);
  t.match(out, `POOLD_ETCD=http://127.0.0.1:${etcdPort} npx poolctl`, 'tells poolctl where etcd is when not on 2379');
});

t.test('serves /pools with the sample pools, once the leader has published them', async (t) => {
  const sample = [...new Set((await loadPoolsOrThrow(join(ROOT, 'pools'))).map((s) => s.name))].sort();
  const base = `http://127.0.0.1:${api}`;
  const body = await waitFor('every sample pool in /pools', () => text(`${base}/pools`), (b) => b.split('\n').filter(Boolean).length === sample.length, 20_000);
  t.same(body.split('\n').filter(Boolean).sort(), sample);
  t.equal(body.endsWith('\n'), true);
  // A healthy sample host is served in PyBal's format.
  const cx = await waitFor('cxserver hosts', () => text(`${base}/pools/cxserver_8080`), (b) => /:\tenabled\/up\/pooled\n/.test(b), 20_000);
  t.match(cx, /^sca\d+\.(eqiad|codfw)\.wmnet:\tenabled\/up\/pooled$/m);
});

t.test('SIGINT stops poold, the simulator and etcd', async (t) => {
  const kids = childrenOf(child.pid!);
  const etcd = kids.find((k) => k.comm === 'etcd');
  t.ok(etcd, `the embedded etcd is a child of the demo (children: ${JSON.stringify(kids)})`);
  t.equal(await portOpen(etcdPort), true, 'etcd listens before Ctrl-C');
  child.kill('SIGINT');
  const r = await Promise.race([exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 20_000))]);
  t.same(r, { code: 0, signal: null }, 'the demo exits 0 on SIGINT');
  t.match(out, 'stopping poold, simulator and etcd...');
  if (etcd) t.equal(alive(etcd.pid), false, 'no etcd left running');
  t.equal(await portOpen(etcdPort), false, 'etcd port closed');
  t.equal(await portOpen(api), false, 'API port closed');
  t.equal(await portOpen(simPort), false, 'simulator control port closed');
});
