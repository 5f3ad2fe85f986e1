// debian/ stays in step with the project, without building anything: the changelog's version is
// package.json's, the nodejs dependency is package.json's engines, the wrappers run node with the
// daemon flags `npm start` uses, and every path the units and .install files name is shipped.
// (test/serial/deb-package.test.ts builds, installs and runs the packages.)
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/poolctl.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string }; scripts: Record<string, string>; bin: Record<string, string> };
const read = (p: string) => readFileSync(join(ROOT, 'debian', p), 'utf8');

t.test('debian/changelog is at package.json\'s version', async (t) => {
  const version = await new Promise<string>((resolve, reject) => {
    execFile('dpkg-parsechangelog', ['-l', join(ROOT, 'debian/changelog'), '-SVersion'], (err, out) => (err ? reject(err) : resolve(out.trim())));
  });
  t.equal(version, pkg.version, 'add a changelog entry (dch -v VERSION) when package.json\'s version changes');
});

t.test('the packages depend on the node package.json requires', async (t) => {
  const major = /^>=\s*(\d+)$/.exec(pkg.engines.node)?.[1];
  t.ok(major, `engines.node is ">=N" (${pkg.engines.node})`);
  const control = read('control');
  t.match(control, new RegExp(`^Build-Depends:[^]*?nodejs \\(>= ${major}\\)`, 'm'));
  const binary = control.split('\n\n').find((p) => /^Package: poold$/m.test(p)) ?? '';
  t.match(binary, new RegExp(`^Depends: nodejs \\(>= ${major}\\),`, 'm'));
});

t.test('wrappers run the package.json entry points; the daemons get npm start\'s node flags', async (t) => {
  const flags = /^node ((?:--[\w-]+(?:=\S+)? )+)dist\/src\/daemon\/demo\.js$/.exec(pkg.scripts.start)?.[1].trim();
  t.ok(flags, `npm start's node flags: ${flags}`);
  t.match(read('bin/poold'), `exec /usr/bin/node ${flags} /usr/share/poold/${pkg.bin.poold} "$@"`);
  t.match(read('bin/lvs-agent'), `exec /usr/bin/node ${flags} /usr/share/poold/${pkg.bin.poolctl} lvs agent "$@"`);
  // With check worker threads, the same flags but --max-old-space-size: V8's flag is process-wide and
  // would override each worker's own heap limit (src/checks/sched-shards.ts WORKER_HEAP).
  const sharded = flags!.replace(/--max-old-space-size=\S+ ?/, '').trim();
  t.not(sharded, flags, 'npm start caps the old space');
  t.match(read('bin/poold'), `*) exec /usr/bin/node ${sharded} /usr/share/poold/${pkg.bin.poold} "$@"`);
  t.match(read('bin/poolctl'), `exec /usr/bin/node /usr/share/poold/${pkg.bin.poolctl} "$@"`);
});

t.test('what the units run and read is shipped', async (t) => {
  const installed = new Set<string>();
  for (const f of ['poold.install', 'poold-lvs-agent.install']) {
    for (const line of read(f).split('\n').filter(Boolean)) {
      const [src, dest] = line.split(/\s+/);
      t.ok(existsSync(join(ROOT, src)), `${f}: ${src} exists`);
      installed.add(`/${dest}${src.split('/').pop()}`);
    }
  }
  for (const [unit, dflt] of [['poold.service', 'poold.default'], ['poold-lvs-agent.service', 'poold-lvs-agent.default']]) {
    const text = read(unit);
    const exec = /^ExecStart=(\S+)/m.exec(text)?.[1];
    t.ok(exec !== undefined && installed.has(exec), `${unit} runs ${exec}, which a .install file ships`);
    t.match(text, /^LoadCredential=etcd\.yaml:\/etc\/poold\/etcd\.yaml$/m);
    t.ok(installed.has('/etc/poold/etcd.yaml'));
    t.match(text, `EnvironmentFile=-/etc/default/${dflt.replace('.default', '')}`);
    // The variable the unit expands is the one the defaults file sets.
    const variable = /\$(\w+)\s*$/m.exec(/^ExecStart=.*$/m.exec(text)![0])?.[1];
    t.match(read(dflt), new RegExp(`^${variable}=`, 'm'), `${dflt} sets ${variable}`);
  }
});
