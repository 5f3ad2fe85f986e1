// `poold` with no etcd configured runs its own etcd child (single-machine mode) on POOLD_ETCD_PORT
// (default 2379), and stops it on SIGTERM. A bad POOLD_ETCD_PORT is a usage error (exit 2) naming it.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../helpers/etcd-ports.js';
import { POOLD, ROOT } from '../helpers/poolctl.js';
import { text, waitFor } from './harness.js';

const portOpen = (port: number) => new Promise<boolean>((res) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); res(true); });
  s.once('error', () => res(false));
});
const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra });

t.test('bad POOLD_ETCD_PORT: exit 2, naming the variable', async (t) => {
  const r = spawnSync(process.execPath, [POOLD, '--listen', '127.0.0.1:0', '--data-dir', join(mkdtempSync(join(tmpdir(), 'poold-emb-')), 'etcd')], {
    cwd: ROOT, env: env({ POOLD_ETCD_PORT: '23x9' }), encoding: 'utf8', timeout: 20_000,
  });
  t.equal(r.status, 2);
  t.match(r.stderr, "bad POOLD_ETCD_PORT='23x9': expected a port number (0-65535)");
});

t.test('embedded etcd on POOLD_ETCD_PORT, stopped with poold', async (t) => {
  const [etcdPort] = await freePorts(1);
  const dataDir = join(mkdtempSync(join(tmpdir(), 'poold-emb-')), 'etcd');
  const child = spawn(process.execPath, [POOLD, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--lease-ttl', '2', '--observer', 'emb'], {
    cwd: ROOT, env: env({ POOLD_ETCD_PORT: String(etcdPort) }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const url = await waitFor('poold ready', async () => /"api":"(http:\/\/[^"]+)"[^\n]*"poold ready"/.exec(out)?.[1] ?? '', (u) => u !== '', 30_000, 100);
  t.match(out, `"endpoint":"http://127.0.0.1:${etcdPort}"`, 'logs the embedded endpoint');
  t.equal(await portOpen(etcdPort), true, 'etcd listens on POOLD_ETCD_PORT');
  t.equal(await text(`${url}/alerts`), 'OK - All pools are healthy', 'serves with no pools yet');
  const etcdPid = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(child.pid)], { encoding: 'utf8' })
    .split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[1] === 'etcd')?.[0];
  t.ok(etcdPid, 'etcd is poold\'s child');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 on SIGTERM');
  t.equal(await portOpen(etcdPort), false, 'no etcd left listening');
  if (etcdPid) t.throws(() => process.kill(Number(etcdPid), 0), 'the etcd process is gone');
});
