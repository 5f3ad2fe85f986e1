// One definition of healthy (cxserver incident): for every simulator behaviour, the command line the
// generated Icinga config runs gives the same verdict as poold's own check code. The Parsoid case
// (never closes) must be up with the unclosed warning in both: Nagios WARNING, not CRITICAL.
import t from 'tap';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { startEtcd } from '../helpers/etcd.js';
import { POOLCTL, runPoolctl } from '../helpers/poolctl.js';
import { startSimulator } from '../../src/sim/simulator.js';
import type { Behaviour } from '../../src/sim/behaviours.js';
import { loadPoolsOrThrow } from '../../src/config/pools/index.js';
import { runChecksOnce } from '../../src/checks/run-once.js';
import { parseIcinga2 } from '../../src/monitoring/icinga-parse.js';

const PORT = 18081;
const CASES: Behaviour[] = ['ok', '404-root', 'hang-before-headers', 'headers-then-hang', 'never-close', 'trickle',
  'empty-200', 'reset', 'refused', 'slow-under', 'slow-over', 'wrong-body'];
const addr = (i: number) => `127.32.0.${i + 1}`;
const host = (b: Behaviour) => `${b.replace(/[^a-z0-9]/g, '')}.eqiad.wmnet`;

const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: ${PORT} }
    depool_threshold: 0.5
    checks:
      - kind: http
        path: /_info
        expect: { status: [200], body: { non_empty: true, contains: cxserver } }
        timeout: 1s
        unclosed: warn
        unclosed_grace: 300ms
    servers:
${CASES.map((b, i) => `      ${host(b)}: { weight: 10, address: ${addr(i)} }`).join('\n')}
`;

t.test('generated Icinga checks and poold checks agree on every simulator behaviour', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const sim = await startSimulator({
    backends: CASES.map((b, i) => ({ address: addr(i), port: PORT, behaviour: b, service: 'cxserver', delayMs: b === 'slow-under' ? 600 : b === 'slow-over' ? 1400 : undefined })),
  });
  t.teardown(() => sim.stop());
  const dir = mkdtempSync(join(tmpdir(), 'poold-verdict-'));
  writeFileSync(join(dir, 'eqiad.yaml'), POOLS);
  const env = { POOLD_ETCD: etcd.clientUrl };
  t.equal((await runPoolctl(['sync', dir], env)).code, 0, 'synced');

  // What Icinga would run: render the config, take the poold-check command and each backend's vars.
  const wrapper = join(dir, 'poolctl');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${POOLCTL} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const rendered = await runPoolctl(['monitoring', 'render', '--format', 'icinga2', '--pools', dir, '--poolctl', wrapper], env);
  t.equal(rendered.code, 0, rendered.stderr);
  const objects = parseIcinga2(rendered.stdout, 'generated.conf').objects;
  const command = objects.find((o) => o.type === 'CheckCommand' && o.name === 'poold-check');
  t.ok(command, 'the generated config defines poold-check');
  const argvTemplate = command!.attrs.command as string[];

  function runIcingaCommand(vars: Record<string, unknown>): Promise<{ exit: number; output: string }> {
    const argv = argvTemplate.map((a) => a.replace(/\$([a-z_]+)\$/g, (_m, v: string) => String(vars[`vars.${v}`] ?? '')));
    return new Promise((resolve) => {
      execFile(argv[0], argv.slice(1), { env: { PATH: '/usr/bin:/bin', ...env } }, (err, stdout) => {
        resolve({ exit: err === null ? 0 : Number((err as { code?: number }).code ?? 3), output: stdout });
      });
    });
  }

  const services = await loadPoolsOrThrow(dir);
  const reports = await runChecksOnce(services[0]);

  for (const b of CASES) {
    t.test(`${b}: Icinga's command and poold agree`, async (t) => {
      const h = host(b);
      const svcObj = objects.find((o) => o.type === 'Service' && o.attrs['vars.poold_backend'] === h);
      t.ok(svcObj, `a Service checks ${h}`);
      const icinga = await runIcingaCommand(svcObj!.attrs);
      const ours = reports.find((r) => r.host === h)!;
      const result = ours.results[0].result;
      const expected = !result.up ? 2 : result.findings.some((f) => f.severity === 'warning') ? 1 : 0;
      t.equal(icinga.exit, expected, `${b}: daemon says ${result.up ? 'up' : 'down'} (${result.code}); Icinga exit ${icinga.exit}: ${icinga.output.split('\n')[0]}`);
      // Same reason: its first two words name the cause ('connection reset', 'headers timeout', 'empty body');
      // the rest varies with timing (byte counts, whether the RST came during or after connect).
      const stem = result.message.split(' ').slice(0, 2).join(' ');
      t.ok(icinga.output.includes(stem), `Icinga's output states the daemon's reason: ${stem}`);
      t.match(icinga.output, /\| .*time=[\d.]+s/, 'perfdata with time');
    });
  }

  t.test('Parsoid: never-close is up with an unclosed warning in both', async (t) => {
    const r = reports.find((x) => x.host === host('never-close'))!;
    t.equal(r.up, true);
    t.equal(r.results[0].result.findings[0]?.code, 'unclosed');
    const ok = reports.find((x) => x.host === host('404-root'))!;
    t.equal(ok.up, true, 'cxserver: 404 on / does not matter, pools/ checks /_info');
  });
});

// Each dc has its own poold: a pool-alert check must read its own dc's poold, never another dc's.
t.test('monitoring render: one dc per render, each dc reads its own poold', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'poold-monitoring-dcs-'));
  const pools = (dc: string, ip: string) => `dc: ${dc}
services:
  cxserver:
    cluster: sca
    lvs: { ip: ${ip}, port: 8080 }
    depool_threshold: 0.5
    checks:
      - kind: http
        path: /_info
    servers:
      cx1.${dc}.wmnet: { weight: 10 }
`;
  writeFileSync(join(dir, 'eqiad.yaml'), pools('eqiad', '10.2.2.18'));
  writeFileSync(join(dir, 'codfw.yaml'), pools('codfw', '10.2.1.18'));

  for (const format of ['icinga2', 'nagios']) {
    const mixed = await runPoolctl(['monitoring', 'render', '--format', format, '--pools', dir]);
    t.equal(mixed.code, 2, `${format}: several dcs without --dc is a usage error (not one dc's poold for all)`);
    t.match(mixed.stderr, /--dc codfw/, 'it says to pass --dc');
    t.equal(mixed.stdout, '', 'nothing rendered');
    const withUrl = await runPoolctl(['monitoring', 'render', '--format', format, '--pools', dir, '--poold-url', 'http://poold.example:9090']);
    t.equal(withUrl.code, 2, `${format}: one --poold-url for several dcs is a usage error`);
    t.match(withUrl.stderr, /--dc/, 'it says to pass --dc');
  }

  for (const dc of ['eqiad', 'codfw']) {
    const r = await runPoolctl(['monitoring', 'render', '--format', 'icinga2', '--pools', dir, '--dc', dc]);
    t.equal(r.code, 0, r.stderr);
    const urls = parseIcinga2(r.stdout, 'generated.conf').objects
      .filter((o) => o.type === 'Service' && o.attrs['vars.poold_alerts_url'] !== undefined)
      .map((o) => o.attrs['vars.poold_alerts_url']);
    t.same(urls, [`http://poold.svc.${dc}.wmnet:9090/alerts`, `http://poold.svc.${dc}.wmnet:9090/alerts`], `${dc}: poold alerts and the pool check read ${dc}'s poold`);
    t.notMatch(r.stdout, dc === 'eqiad' ? /codfw/ : /eqiad/, `${dc}: nothing of the other dc`);
  }
});
