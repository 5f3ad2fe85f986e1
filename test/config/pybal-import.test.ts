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
      'pybal.conf:2:7: [global] bgp: BGP and instrumentation settings belong to the LVS host, not pools/; not carried over',
      `pybal.conf:9:10: [cxserver] config: sca1002.eqiad.wmnet is enabled: False in file://${dir}/cxserver-servers (line 2); pools/ holds no admin state: after sync run \`poolctl depool sca1002.eqiad.wmnet\``,
      'pybal.conf:10:7: [cxserver] bgp: BGP announcement is configured on the LVS host, not in pools/; not carried over',
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
  const cx = loaded.services.find((s) => s.service === 'cxserver')!;
  t.match(cx, { dc: 'eqiad', cluster: 'sca', lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr' }, depoolThreshold: 0.5 });
  t.same(cx.servers, { 'sca1001.eqiad.wmnet': { weight: 10 }, 'sca1002.eqiad.wmnet': { weight: 5 } });
  t.match(cx.checks[0], { kind: 'http', urls: ['/_info'], host: 'cxserver.svc.eqiad.wmnet', timeoutMs: 3000, intervalMs: 10_000, rise: 1, fall: 1 });
  t.match(cx.checks[1], { kind: 'idle-connection', reconnectTimeoutMs: 3000 });
  const text = loaded.services.find((s) => s.service === 'text')!;
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
