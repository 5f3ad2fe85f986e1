#!/usr/bin/env node
// Installs what a fresh machine lacks, using only Node built-ins (node_modules may not exist yet).
// Used by `npm start`, `npm test` and .ci/run:  node .ci/bootstrap.mjs [start|test]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv[2] ?? 'test';

// Debian package per binary. `start` needs only etcd; the suite drives the real peers too.
const NEEDED = {
  // The demo's EventLogging pool runs a Nagios plugin (check_tcp) as its command check.
  start: { etcd: 'etcd-server', '/usr/lib/nagios/plugins/check_tcp': 'monitoring-plugins-basic' },
  test: {
    etcd: 'etcd-server',
    etcdctl: 'etcd-client',
    '/usr/lib/python3/dist-packages/etcd/__init__.py': 'python3-etcd',
    icinga2: 'icinga2-bin',
    haproxy: 'haproxy',
    promtool: 'prometheus',
    chromium: 'chromium',
    openssl: 'openssl',
    '/usr/lib/nagios/plugins/check_tcp': 'monitoring-plugins-basic',
    '/usr/sbin/nagios4': 'nagios4-core',
    gobgpd: 'gobgpd',
    bird: 'bird2',
    ip: 'iproute2',
    python3: 'python3-minimal', // test/model/pyregex.test.ts checks selector regexes against Python's re
    'dpkg-buildpackage': 'dpkg-dev',
    dh: 'debhelper',
    help2man: 'help2man',
    lintian: 'lintian',
    debootstrap: 'debootstrap',
  },
};

function have(bin) {
  if (bin.startsWith('/')) return existsSync(bin);
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

const missing = [...new Set(Object.entries(NEEDED[purpose] ?? NEEDED.test)
  .filter(([bin]) => !have(bin)).map(([, pkg]) => pkg))];
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.error(`bootstrap: missing Debian packages: ${missing.join(' ')}; run as root or install them with apt-get.`);
    process.exit(1);
  }
  console.error(`bootstrap: installing ${missing.join(' ')} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  // Debian starts etcd, icinga2 and bird as services on install; poold and the tests run their own.
  for (const unit of ['etcd', 'icinga2', 'bird']) spawnSync('sh', ['-c', `command -v systemctl >/dev/null && systemctl disable --now ${unit} 2>/dev/null; service ${unit} stop 2>/dev/null`], { stdio: 'ignore' });
}

const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.error('bootstrap: installing npm dependencies (npm ci) ...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
