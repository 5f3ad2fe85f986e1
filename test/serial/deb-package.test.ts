// The Debian packages end to end: debian/build-deb.sh builds poold and poold-lvs-agent from this
// checkout, lintian finds no error, both install with dpkg into a clean minimal Debian root (with
// Debian's own nodejs), `poolctl --version` runs there, both systemd units pass
// `systemd-analyze verify` and keep exactly the sandbox they declare, and the installed poold,
// poolctl and LVS agent work against a real etcd and a real backend (ipvsadm: the stand-in).
//
// Slow (a package build, lintian, and on the first run a debootstrap of a few minutes; the root is
// cached under var/cache/deb-root/), hence test/serial/. Needs root (chroot, unshare, debootstrap).
import t from 'tap';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { ROOT } from '../helpers/poolctl.js';
import { freePorts } from '../helpers/etcd-ports.js';
import { FAKE_IPVSADM } from '../lvs/fake-ipvsadm-helper.js';
import { cachedRootTarball, run, unpackRoot, type DebianRoot } from '../packaging/debian-root.js';

t.setTimeout(45 * 60_000);
// The packages do not depend on the Node line that runs the suite (they run Debian's nodejs), and
// building, lintian and the install take minutes: .ci/run tests them on one Node line only.
const SKIP = process.env.POOLD_SKIP_PACKAGE_TEST === '1' ? 'the .deb is built and tested on one Node line per CI run (.ci/run)' : false;

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const OUT = join(ROOT, 'var', 'deb-test');
const DEB = join(OUT, `poold_${VERSION}_all.deb`);
const AGENT_DEB = join(OUT, `poold-lvs-agent_${VERSION}_all.deb`);

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (ok(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** SIGTERM, then wait for the exit (SIGKILL after 10 s), so nothing runs in the root when it is removed. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.kill('SIGTERM');
  });
}

async function get(url: string, accept = '*/*'): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.text() };
}

t.test('build: debian/build-deb.sh makes both packages, at package.json\'s version', { skip: SKIP }, async (t) => {
  const r = await run(join(ROOT, 'debian/build-deb.sh'), [], { env: { ...(process.env as Record<string, string>), POOLD_DEB_OUT: OUT }, timeoutMs: 40 * 60_000 });
  t.equal(r.code, 0, `build-deb.sh: ${r.stderr.slice(-3000)}${r.stdout.slice(-3000)}`);
  for (const deb of [DEB, AGENT_DEB]) t.ok(existsSync(deb), deb);
  const field = async (deb: string, f: string) => (await run('dpkg-deb', ['-f', deb, f])).stdout.trim();
  t.equal(await field(DEB, 'Version'), VERSION);
  t.equal(await field(DEB, 'Architecture'), 'all');
  t.match(await field(DEB, 'Depends'), /(^|, )nodejs \(>= 20\)(,|$)/, 'Debian\'s nodejs, at the engines version');
  t.match(await field(AGENT_DEB, 'Depends'), new RegExp(`ipvsadm.*poold \\(= ${VERSION.replace(/\./g, '\\.')}\\)`));
});

t.test('contents: compiled JS, production dependencies only, units, config, docs', { skip: SKIP }, async (t) => {
  const list = async (deb: string) => (await run('dpkg-deb', ['-c', deb])).stdout.split('\n')
    .map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 6).map((f) => ({ mode: f[0], path: f[5].replace(/^\./, '') }));
  const files = await list(DEB);
  const paths = new Set(files.map((f) => f.path));
  for (const p of [
    '/usr/bin/poold', '/usr/bin/poolctl',
    '/usr/share/poold/dist/src/daemon/poold.js', '/usr/share/poold/dist/src/cli/poolctl.js', '/usr/share/poold/dist/src/lvs/agent.js',
    '/usr/share/poold/package.json', '/usr/share/poold/src/api/dashboard/index.html', '/usr/share/poold/src/api/dashboard/dashboard.js',
    '/usr/share/poold/node_modules/fastify/package.json', '/usr/share/poold/node_modules/etcd3/package.json', '/usr/share/poold/node_modules/prom-client/package.json',
    '/lib/systemd/system/poold.service', '/usr/lib/sysusers.d/poold.conf', '/etc/default/poold', '/etc/poold/etcd.yaml',
    '/usr/share/man/man8/poold.8.gz', '/usr/share/man/man8/poolctl.8.gz', '/usr/share/bash-completion/completions/poolctl',
    '/usr/share/poold/monitoring/poold.rules.yml', '/usr/share/poold/monitoring/poold-dashboard.json',
  ]) t.ok(paths.has(p), p);
  const dev = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies)
    .filter((d) => !d.startsWith('@types/')); // @types/node is also a production dependency's dependency
  t.same(dev.filter((d) => paths.has(`/usr/share/poold/node_modules/${d}/package.json`)), [], 'no devDependency shipped');
  t.notOk([...paths].some((p) => p.startsWith('/usr/share/poold/dist/test/') || p.startsWith('/usr/share/poold/dist/bench/')), 'no compiled tests or benchmarks');
  t.equal(files.find((f) => f.path === '/etc/poold/etcd.yaml')?.mode, '-rw-------', 'etcd.yaml (may hold a password) is root-only');
  const agent = new Set((await list(AGENT_DEB)).map((f) => f.path));
  for (const p of ['/lib/systemd/system/poold-lvs-agent.service', '/etc/default/poold-lvs-agent', '/usr/libexec/poold/lvs-agent']) t.ok(agent.has(p), p);
});

t.test('lintian: no errors', { skip: SKIP }, async (t) => {
  const r = await run('lintian', ['--fail-on', 'error', '--tag-display-limit', '0', DEB, AGENT_DEB], { timeoutMs: 20 * 60_000 });
  const errors = r.stdout.split('\n').filter((l) => l.startsWith('E:'));
  t.same(errors, [], 'no E: tags');
  if (r.code !== 0) t.comment(r.stdout + r.stderr);
  t.equal(r.code, 0, 'lintian --fail-on error exits 0');
  // Warnings are allowed but counted, so a new one shows in the output.
  t.comment(`lintian warnings: ${r.stdout.split('\n').filter((l) => l.startsWith('W:')).length}`);
});

t.test('installed into a clean Debian root', { skip: SKIP }, async (t) => {
  const tarball = await cachedRootTarball((l) => t.comment(l));
  const root: DebianRoot = await unpackRoot(tarball);
  t.teardown(() => root.remove());
  for (const deb of [DEB, AGENT_DEB]) copyFileSync(deb, join(root.dir, 'tmp', deb.split('/').pop()!));
  t.comment(`root: ${root.dir}; node there: ${(await root.run(['node', '--version'])).stdout.trim()}`);

  const install = await root.run(['dpkg', '-i', `/tmp/poold_${VERSION}_all.deb`, `/tmp/poold-lvs-agent_${VERSION}_all.deb`], { timeoutMs: 10 * 60_000 });
  if (install.code !== 0) t.comment(install.stdout + install.stderr);
  t.equal(install.code, 0, 'dpkg -i installs both packages (their dependencies are met by Debian\'s packages)');
  t.match(install.stdout + install.stderr, /Creating user 'poold'/, 'postinst ran systemd-sysusers');
  const status = await root.run(['dpkg-query', '-W', '-f', '${Package} ${Version} ${db:Status-Status}\\n', 'poold', 'poold-lvs-agent']);
  t.equal(status.stdout, `poold ${VERSION} installed\npoold-lvs-agent ${VERSION} installed\n`);

  await t.test('poolctl --version runs from the package', async (t) => {
    const r = await root.run(['poolctl', '--version']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), VERSION);
    const h = await root.run(['poold', '--help']);
    t.equal(h.code, 0, h.stderr);
    t.match(h.stdout, /--etcd <urls>/);
    const man = await root.run(['man', '-w', 'poolctl']);
    t.equal(man.stdout.trim(), '/usr/share/man/man8/poolctl.8.gz', 'man finds poolctl(8)');
  });

  await t.test('postinst created the system user', async (t) => {
    const r = await root.run(['getent', 'passwd', 'poold']);
    t.equal(r.code, 0);
    const [name, , uid, , , home, shell] = r.stdout.trim().split(':');
    t.equal(name, 'poold');
    t.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid (${uid})`);
    t.equal(home, '/var/lib/poold');
    t.equal(shell, '/usr/sbin/nologin');
  });

  await t.test('both units pass systemd-analyze verify', async (t) => {
    // man-db is in the root, so Documentation=man:poold(8) and man:poolctl(8) are checked too.
    const r = await root.run(['systemd-analyze', 'verify', 'poold.service', 'poold-lvs-agent.service']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr + r.stdout, '', 'no warning');
  });

  await t.test('the units keep exactly the sandbox they declare', async (t) => {
    // systemd's own assessment: what each unit leaves open. Everything else it checks (ProtectSystem,
    // ProtectHome, PrivateTmp, NoNewPrivileges, capabilities, address families, syscall filter, ...)
    // is closed. Each opening below is needed, or could not be tried without systemd as PID 1 here.
    const common = [
      'DeviceAllow=', // ProtectClock= grants the read-only rtc; nothing else
      'IPAddressDeny=', // poold checks arbitrary backends; the agent reads etcd or poold
      'MemoryDenyWriteExecute=', // V8's JIT
      'PrivateNetwork=', // both work over the network
      'PrivateUsers=',
      'ProcSubset=', // node and prom-client's process metrics read /proc
      'RestrictAddressFamilies=~AF_(INET|INET6)',
      'RestrictAddressFamilies=~AF_NETLINK', // getaddrinfo; ipvsadm's generic netlink
      'RestrictAddressFamilies=~AF_UNIX',
      'RootDirectory=/RootImage=',
      'SystemCallFilter=~@resources', // node adjusts its own limits
      'UMask=', // 0027: group-readable for the poold group
    ];
    const open = async (unit: string) => {
      const r = await root.run(['systemd-analyze', 'security', '--offline=yes', '--json=short', unit]);
      t.equal(r.code, 0, r.stderr);
      const items = JSON.parse(r.stdout) as { set: boolean; name: string; exposure: string | null }[];
      return items.filter((i) => !i.set && i.exposure !== null && Number(i.exposure) > 0).map((i) => i.name).sort();
    };
    t.same(await open('poold.service'), [...common].sort(), 'poold: no capability at all');
    t.same(await open('poold-lvs-agent.service'), [...common, 'AmbientCapabilities=', 'CapabilityBoundingSet=~CAP_NET_ADMIN'].sort(), 'the agent: CAP_NET_ADMIN only');
    const unit = readFileSync(join(root.dir, 'lib/systemd/system/poold.service'), 'utf8');
    for (const line of ['ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'NoNewPrivileges=yes', 'StateDirectory=poold', 'SystemCallFilter=@system-service', 'User=poold']) {
      t.match(unit, new RegExp(`^${line}$`, 'm'), line);
    }
  });

  await t.test('the installed poold, poolctl and LVS agent work', async (t) => {
    const etcd = await startEtcd();
    t.teardown(() => etcd.stop());
    // A real backend on loopback for poold's HTTP check.
    const backend: Server = createServer((req, res) => res.end(req.url === '/_info' ? 'pkgtest ok' : 'nope'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => backend.close(() => r())));
    const port = (backend.address() as AddressInfo).port;
    mkdirSync(join(root.dir, 'tmp/pools'));
    writeFileSync(join(root.dir, 'tmp/pools/eqiad.yaml'), `dc: eqiad
services:
  pkgtest:
    cluster: pkg
    lvs: { ip: 10.2.2.99, port: ${port} }
    checks:
      - { kind: http, path: /_info, expect: { status: [200], body: { contains: pkgtest } }, interval: 500ms, rise: 1, fall: 1 }
    servers:
      pkg1001.eqiad.wmnet: { weight: 10, address: 127.0.0.1 }
`);
    const sync = await root.run(['poolctl', 'sync', '/tmp/pools', '--etcd', etcd.clientUrl, '--reason', 'package test']);
    t.equal(sync.code, 0, sync.stderr);

    const [api, agentPort] = await freePorts(2);
    const poold = root.spawn(['/usr/bin/poold', '--etcd', etcd.clientUrl, '--listen', `127.0.0.1:${api}`, '--observer', 'pkgtest'], { user: 'poold' });
    let pooldErr = '';
    poold.stderr!.on('data', (d: Buffer) => { pooldErr += d.toString(); });
    t.teardown(() => stop(poold));
    const base = `http://127.0.0.1:${api}`;
    const pool = await waitFor('poold to publish pkg1001 up and pooled', () => get(`${base}/v1/pools/eqiad/pkgtest_${port}`),
      (r) => r.status === 200 && r.body.includes('"pybalStatus":"enabled/up/pooled"'), 90_000).catch((err: Error) => { throw new Error(`${err.message}\npoold stderr: ${pooldErr}`); });
    t.match(pool.body, /pkg1001\.eqiad\.wmnet/);
    const metrics = await get(`${base}/metrics`);
    t.match(metrics.body, new RegExp(`^poold_servers\\{dc="eqiad",service="pkgtest_${port}",state="up"\\} 1$`, 'm'), '/metrics');
    const page = await get(`${base}/`, 'text/html');
    t.equal(page.status, 200, 'the dashboard assets are shipped');
    t.match(page.body, /^<!doctype html>/i);
    const status = await root.run(['poolctl', 'status', 'eqiad/pkg/pkgtest', '--etcd', etcd.clientUrl]);
    t.match(status.stdout, /pkg1001\.eqiad\.wmnet\s+yes\s+10\s+up\s+pooled/, `poolctl status: ${status.stdout}${status.stderr}`);

    // The agent, as its unit runs it, programming the ipvsadm stand-in inside the root.
    copyFileSync(FAKE_IPVSADM, join(root.dir, 'tmp/fake-ipvsadm'));
    mkdirSync(join(root.dir, 'tmp/ipvs'));
    chmodSync(join(root.dir, 'tmp/ipvs'), 0o777);
    writeFileSync(join(root.dir, 'tmp/ipvsadm'), '#!/bin/sh\nexec node /tmp/fake-ipvsadm --fake-state /tmp/ipvs/state.json --fake-log /tmp/ipvs/log.jsonl "$@"\n', { mode: 0o755 });
    const agent = root.spawn(['/usr/libexec/poold/lvs-agent', '--host', 'pkgtest', '--etcd', etcd.clientUrl, '--ipvsadm', '/tmp/ipvsadm', '--listen', `127.0.0.1:${agentPort}`, '--period', '1s'], { user: 'poold' });
    let agentErr = '';
    agent.stderr!.on('data', (d: Buffer) => { agentErr += d.toString(); });
    t.teardown(() => stop(agent));
    const statePath = join(root.dir, 'tmp/ipvs/state.json');
    const table = await waitFor('the agent to program 10.2.2.99', async () => existsSync(statePath) ? readFileSync(statePath, 'utf8') : '',
      (s) => s.includes('10.2.2.99'), 90_000).catch((err: Error) => { throw new Error(`${err.message}\nagent stderr: ${agentErr}`); });
    const svc = (JSON.parse(table) as { services: { address: string; port: number; servers: { address: string; weight: number }[] }[] }).services
      .find((s) => s.address === '10.2.2.99' && s.port === port);
    t.same(svc?.servers.map((s) => [s.address, s.weight]), [['127.0.0.1', 10]], 'pkg1001 in IPVS with weight 10');
    t.equal(statSync(statePath).uid, Number((await root.run(['id', '-u', 'poold'])).stdout.trim()), 'ipvsadm ran as the poold user');
    // The table is written before the reconcile that wrote it has read it back and reported.
    const am = await waitFor('the agent to report its applied reconcile', () => get(`http://127.0.0.1:${agentPort}/metrics`),
      (r) => /^poold_lvs_reconciles_total\{result="applied",lvs_host="pkgtest"\} [1-9]/m.test(r.body), 30_000);
    t.match(am.body, /^poold_lvs_source_up\{lvs_host="pkgtest"\} 1$/m, 'agent /metrics: source up');
    t.match(am.body, new RegExp(`^poold_lvs_real_servers\\{service="eqiad/pkgtest_${port}",vs="tcp 10\\.2\\.2\\.99:${port}",lvs_host="pkgtest"\\} 1$`, 'm'), 'agent /metrics: one real server');
  });
});
