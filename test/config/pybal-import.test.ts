import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPybalFile } from '../../src/config/pybal-import.js';
import { parsePoolsText } from '../../src/config/pools/index.js';
import { renderPybal } from '../../src/config/pybal-render.js';
import { parsePybalConf } from '../../src/config/pybal-parse.js';

const CONF = (dir: string) => `[global]
bgp = yes

[cxserver]
protocol = tcp
ip = 10.2.2.18
port = 8080
scheduler = wrr
config = file://${dir}/cxserver-servers
bgp = yes
depool-threshold = .5
monitors = [ "ProxyFetch", "IdleConnection" ]
proxyfetch.url = [ 'http://cxserver.svc.eqiad.wmnet/_info' ]
proxyfetch.timeout = 3
idleconnection.timeout-clean-reconnect = 3
idleconnection.max-delay = 300
fancy-option = 1

[text]
protocol = tcp
ip = 192.0.2.11
port = 80
scheduler = wlc
config = http://config-master.wikimedia.org/pybal/eqiad/text
monitors = [ 'RunCommand' ]
runcommand.command = /usr/lib/nagios/plugins/check_http
runcommand.arguments = [ '-H', server.ip, '-I', server.host, '-p', server.port ]
runcommand.log-output = true
`;

t.test('imports sections, checks and the file server list; warns about everything it cannot carry', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-import-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'cxserver-servers'),
    "{ 'host': 'sca1001.eqiad.wmnet', 'weight': 10, 'enabled': True }\n{ 'host': 'sca1002.eqiad.wmnet', 'weight': 5, 'enabled': False }\n",
  );
  await writeFile(join(dir, 'pybal.conf'), CONF(dir));
  const r = await importPybalFile(join(dir, 'pybal.conf'), { dc: 'eqiad', cluster: { cxserver: 'sca' } });
  const f = join(dir, 'pybal.conf');
  t.same(
    r.warnings.map((w) => `${w.file === f ? 'pybal.conf' : w.file}:${w.line}:${w.col}: ${w.message}`),
    [
      'pybal.conf:2:7: [global] bgp: BGP and instrumentation settings belong to the LVS host (poolctl lvs agent --bgp-*), not pools/; not carried over',
      `pybal.conf:9:10: [cxserver] config: sca1002.eqiad.wmnet is enabled: False in file://${dir}/cxserver-servers (line 2); pools/ holds no admin state: after sync run \`poolctl depool sca1002.eqiad.wmnet\``,
      'pybal.conf:16:28: [cxserver] idleconnection.max-delay: poold reconnects at once and has no TCP keepalive tuning; not carried over',
      'pybal.conf:17:16: [cxserver] fancy-option: not understood by poold (or its monitor is not listed in monitors); not carried over',
      'pybal.conf:19:1: [text]: pybal.conf names no conftool cluster; used "text": set the real one (poolctl import pybal --cluster)',
      'pybal.conf:24:10: [text] config: server list http://config-master.wikimedia.org/pybal/eqiad/text is an http URL, which import does not fetch (it works offline); pass the file with the server list; servers left empty: add them before loading',
      'pybal.conf:27:24: [text] runcommand.arguments: server.port is not a string to PyBal, so PyBal ignored this list and ran /usr/lib/nagios/plugins/check_http with one empty argument; poold will pass these arguments: check that the command works with them',
      'pybal.conf:28:25: [text] runcommand.log-output: poold always records plugin output in the check detail; not carried over',
    ],
  );
  t.match(r.yaml, /# NOT CARRIED OVER: idleconnection.max-delay \(line 16\)/);
  // The text service has no servers (http list): the loader says so, located in the imported YAML.
  t.equal(r.problems.length, 1);
  t.match(r.problems[0].message, /servers/);

  const loaded = parsePoolsText(r.yaml.replace('servers: {}', 'servers:\n      cp1001.eqiad.wmnet: { weight: 1 }'), 'imported.yaml');
  t.same(loaded.problems, []);
  const cx = loaded.services.find((s) => s.catalog === 'cxserver')!;
  t.match(cx, { dc: 'eqiad', pool: { cluster: 'sca' }, lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr' }, depoolThreshold: 0.5 });
  t.same(cx.servers, { 'sca1001.eqiad.wmnet': { weight: 10 }, 'sca1002.eqiad.wmnet': { weight: 5 } });
  t.match(cx.checks[0], { kind: 'http', urls: ['/_info'], host: 'cxserver.svc.eqiad.wmnet', timeoutMs: 3000, intervalMs: 10_000, rise: 1, fall: 1 });
  t.match(cx.checks[1], { kind: 'idle-connection', reconnectTimeoutMs: 3000 });
  const text = loaded.services.find((s) => s.catalog === 'text')!;
  t.same((text.checks[0] as { argv: string[] }).argv, ['/usr/lib/nagios/plugins/check_http', '-H', '{address}', '-I', '{host}', '-p', '{port}']);

  // Round trip: rendering the imported pools gives back PyBal's view of the same checks.
  const again = parsePybalConf(renderPybal(loaded.services, 'http://poold:9090').text, 'rendered.conf');
  const cx2 = again.services.find((s) => s.name === 'cxserver')!;
  t.same(cx2.proxyfetch?.urls, ['http://cxserver.svc.eqiad.wmnet/_info']);
  t.equal(cx2.proxyfetch?.timeoutS, 3);
  t.same(cx2.monitors, ['ProxyFetch', 'IdleConnection']);
});

t.test('a malformed pybal.conf fails with every located problem', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-import-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'bad.conf'), '[x]\nport = eighty\n');
  await t.rejects(importPybalFile(join(dir, 'bad.conf'), { dc: 'eqiad' }), { name: 'ConfigError', message: /bad\.conf:2:8: \[x\] port: expected an integer/ });
});

t.test('tunneling = true imports as IPIP (method i) and bgp = no as bgp: false, without a warning; render writes them back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-import-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'servers'), "{ 'host': 'cloudelastic1005.eqiad.wmnet', 'weight': 10, 'enabled': True }\n");
  await writeFile(
    join(dir, 'pybal.conf'),
    [
      '[cloudelastic-chi-https_9243]', 'protocol = tcp', 'ip = 10.2.2.54', 'port = 9243', 'scheduler = mh',
      `config = file://${dir}/servers`, 'tunneling = true', 'bgp = no', 'bgp-med = 10',
      "monitors = [ 'IdleConnection' ]", '',
      '[plain]', 'protocol = tcp', 'ip = 10.2.2.55', 'port = 80', 'scheduler = wrr',
      `config = file://${dir}/servers`, 'tunneling = no', "monitors = [ 'IdleConnection' ]", '',
    ].join('\n'),
  );
  const r = await importPybalFile(join(dir, 'pybal.conf'), { dc: 'eqiad', cluster: 'cloudelastic' });
  // Only the per-service MED is reported: tunneling and bgp are carried over.
  t.same(r.warnings.map((w) => w.message), [
    '[cloudelastic-chi-https_9243] bgp-med: a per-service MED has no pools/ setting: the LVS agent announces every VIP with its --bgp-med; not carried over',
  ]);
  const loaded = parsePoolsText(r.yaml, 'imported.yaml');
  t.same(loaded.problems, []);
  const tun = loaded.services.find((s) => s.catalog === 'cloudelastic-chi-https_9243')!;
  t.same(tun.lvs, { ip: '10.2.2.54', port: 9243, protocol: 'tcp', scheduler: 'mh', method: 'i', bgp: false });
  const plain = loaded.services.find((s) => s.catalog === 'plain')!;
  t.same(plain.lvs, { ip: '10.2.2.55', port: 80, protocol: 'tcp', scheduler: 'wrr', method: 'g' });

  const text = renderPybal(loaded.services, 'http://poold:9090').text;
  const back = parsePybalConf(text, 'rendered.conf');
  t.match(back.services.find((s) => s.name === 'cloudelastic-chi-https_9243'), { tunneling: true, bgp: false });
  t.match(back.services.find((s) => s.name === 'plain'), { tunneling: false, bgp: true });
  t.notMatch(text.split('[plain]')[1], /tunneling|bgp/, 'defaults are not written');
});
