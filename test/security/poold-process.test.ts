// A real poold process, attacked from the sides an operator worries about:
// - its API binds loopback by default and refuses every write method (405, JSON error);
// - command checks run argv without a shell (`;`, `$()`, backticks reach the plugin literally) and
//   with a cleared environment: the etcd password in poold's own environment is not inherited;
// - the etcd password given with --etcd-password never appears in its logs (run at debug level),
//   nor in the error of a failed authentication.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enableAuth, startEtcd } from '../helpers/etcd.js';
import { POOLD, ROOT, runPoolctl } from '../helpers/poolctl.js';
import { poolsDir, spawnPoold, stopPoold, text, waitFor } from '../daemon/harness.js';
import { startSimulator } from '../../src/sim/simulator.js';

const PORT = 18158;
const SECRET = 'Sup3r-s3cret-etcd-pw';
const dir = mkdtempSync(join(tmpdir(), 'poold-security-'));
const MARK = join(dir, 'pwned');

// The plugin records its argv and environment, then reports OK (Nagios protocol).
const PLUGIN = `#!/bin/sh
out="$1"; shift
{ for a in "$@"; do printf 'ARG %s\\n' "$a"; done; /usr/bin/env | while read -r l; do printf 'ENV %s\\n' "$l"; done; } > "$out.tmp"
/bin/mv "$out.tmp" "$out"
echo "ENVDUMP OK - $# args"
`;
writeFileSync(join(dir, 'envdump'), PLUGIN, { mode: 0o755 });
const argv = [join(dir, 'envdump'), join(dir, '{host}.out'), 'a;b', `$(touch ${MARK})`, `\`touch ${MARK}\``, '| cat /etc/passwd', '{host}'];

// The LVS service (PyBal section) the API names: cxserver on its port.
const SECTION = `cxserver_${PORT}`;
const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: ${PORT} }
    depool_threshold: 0.5
    checks:
      - { kind: command, name: envdump, argv: ${JSON.stringify(argv)}, timeout: 2s, interval: 300ms, rise: 1, fall: 1 }
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.58.0.1 }
`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: [{ address: '127.58.0.1', port: PORT, behaviour: 'ok' }] });
t.teardown(() => sim.stop());
const sync = await runPoolctl(['sync', poolsDir({ 'eqiad.yaml': POOLS })], { POOLD_ETCD: etcd.clientUrl });
if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
await enableAuth(etcd, SECRET);

// poold with the password both on its command line and in its environment. `env -i` also drops the
// variables tap's process-info hook injects into every child (NODE_OPTIONS, _TAPJS_*): they would
// reach the plugin through poold's own spawn hook and blur what poold itself passes on.
const withEnv = (cmd: string[]) => ['/usr/bin/env', '-i', `POOLD_ETCD_PASSWORD=${SECRET}`, `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, ...cmd];
const p = await spawnPoold(etcd.clientUrl, 'sec-poold', ['--etcd-user', 'root', '--etcd-password', SECRET, '--log-level', 'debug'], withEnv);
t.teardown(() => stopPoold(p));

t.test('command checks: argv reaches the plugin literally, no shell ran', async (t) => {
  const out = join(dir, 'sca1001.eqiad.wmnet.out');
  await waitFor('the plugin ran', async () => existsSync(out), (x) => x, 10_000);
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  t.same(lines.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4)),
    ['a;b', `$(touch ${MARK})`, `\`touch ${MARK}\``, '| cat /etc/passwd', 'sca1001.eqiad.wmnet'], 'metacharacters passed as data, {host} substituted');
  t.notOk(existsSync(MARK), 'no command substitution happened');
  await waitFor('host up via the plugin', () => text(`${p.url}/pools/${SECTION}/sca1001.eqiad.wmnet`), (b) => b === 'enabled/up/pooled\n');
});

t.test('command checks: the environment is cleared; poold\'s etcd password is not inherited', async (t) => {
  const env = readFileSync(join(dir, 'sca1001.eqiad.wmnet.out'), 'utf8').split('\n').filter((l) => l.startsWith('ENV ')).map((l) => l.slice(4));
  t.notOk(env.some((l) => l.includes(SECRET)), 'the secret is nowhere in the plugin\'s environment');
  t.notOk(env.some((l) => l.startsWith('POOLD_')), 'no POOLD_* variable');
  t.notOk(env.some((l) => /^(PATH|HOME|USER|NODE_OPTIONS)=/.test(l)), `nothing inherited at all: ${JSON.stringify(env)}`);
});

t.test('the API refuses every write method with 405 and a JSON error, changing nothing', async (t) => {
  const before = await text(`${p.url}/pools/${SECTION}`);
  for (const path of ['/pools', `/pools/${SECTION}`, `/pools/${SECTION}/sca1001.eqiad.wmnet`, '/alerts', `/v1/pools/eqiad/${SECTION}`, '/v1/pools']) {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await fetch(`${p.url}${path}`, { method, body: '{"pooled":"no"}', headers: { 'content-type': 'application/json' } });
      t.equal(r.status, 405, `${method} ${path}`);
      const body = await r.json() as { error?: unknown };
      t.ok(body && typeof body === 'object' && 'error' in body, `${method} ${path}: JSON error body`);
    }
  }
  t.equal(await text(`${p.url}/pools/${SECTION}`), before, 'state unchanged');
});

t.test('the etcd password never appears in poold\'s logs', async (t) => {
  // Make it log some more: an admin change and a check transition.
  const r = await runPoolctl(['weight', 'sca1001', '5'], { POOLD_ETCD: etcd.clientUrl, POOLD_ETCD_USER: 'root', POOLD_ETCD_PASSWORD: SECRET });
  t.equal(r.code, 0, r.stderr);
  await waitFor('weight seen', async () => JSON.parse(await text(`${p.url}/pools/${SECTION}`, { headers: { accept: 'application/json' } })), (j) => j['sca1001.eqiad.wmnet']?.weight === 5);
  t.match(p.output(), 'user=root password=***', 'the etcd settings are logged, the password masked (so the grep below means something)');
  t.notMatch(p.output(), SECRET, 'the password is not');
});

t.test('a wrong password: poold fails with an authentication error that does not echo it', async (t) => {
  const wrong = 'Wr0ng-pw-not-to-be-logged';
  const child = spawn(process.execPath, [POOLD, '--etcd', etcd.clientUrl, '--etcd-user', 'root', '--etcd-password', wrong, '--listen', '127.0.0.1:0', '--log-level', 'debug'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  // A generous bound: on a loaded machine poold took 17 s to start, try the password and exit.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  t.equal(code, 1, `poold exits 1: ${out.slice(-500)}`);
  t.match(out, /authenticat/i, 'says authentication failed');
  t.notMatch(out, wrong, 'without the password');
});

t.test('poold binds 127.0.0.1 by default', async (t) => {
  const help = await new Promise<string>((resolve) => {
    const c = spawn(process.execPath, [POOLD, '--help'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    let o = '';
    c.stdout.on('data', (b: Buffer) => (o += b.toString()));
    c.once('exit', () => resolve(o));
  });
  t.match(help, /--listen <host:port>[^-]*\(default:\s+"127\.0\.0\.1:9090"\)/, 'the documented default is loopback');
  // And really: started without --listen it listens on 127.0.0.1:9090 (when that port is free here).
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer().once('error', () => resolve(false)).listen(9090, '0.0.0.0', () => s.close(() => resolve(true)));
  });
  if (!free) {
    t.comment('port 9090 is taken on this machine: only the documented default was checked');
    return;
  }
  const dropListen = (cmd: string[]) => {
    const i = cmd.indexOf('--listen');
    return withEnv([...cmd.slice(0, i), ...cmd.slice(i + 2)]);
  };
  let d;
  try {
    d = await spawnPoold(etcd.clientUrl, 'default-listen', ['--etcd-user', 'root', '--etcd-password', SECRET], dropListen);
  } catch (err) {
    // Someone took 9090 between the probe and poold's bind: the refusal must still name loopback.
    if (!/EADDRINUSE|address already in use/i.test(String(err))) throw err;
    t.match(String(err), '127.0.0.1:9090', 'the bind poold tried was loopback');
    return;
  }
  const started = d;
  t.teardown(() => stopPoold(started));
  t.equal(d.url, 'http://127.0.0.1:9090');
});
