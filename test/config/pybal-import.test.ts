import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPybalFile, importSucceeded } from '../../src/config/pybal-import.js';
import { parsePoolsText } from '../../src/config/pools/index.js';
import { renderPybal } from '../../src/config/pybal-render.js';
import { parsePybalConf } from '../../src/config/pybal-parse.js';

const CONF = (dir: string) => `[global]
bgp = yes

[cxserver_8080]
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
ops = false
tunneling = true

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
  const r = await importPybalFile(join(dir, 'pybal.conf'), { dc: 'eqiad', cluster: { cxserver_8080: 'sca' } });
  const f = join(dir, 'pybal.conf');
  t.same(
    r.warnings.map((w) => `${w.essential ? 'E ' : ''}${w.file === f ? 'pybal.conf' : w.file}:${w.line}:${w.col}: ${w.message}`),
    [
      'pybal.conf:2:7: [global] bgp: BGP and instrumentation settings belong to the LVS host (poolctl lvs agent --bgp-*), not pools/; not carried over',
      `pybal.conf:9:10: [cxserver_8080] config: sca1002.eqiad.wmnet is enabled: False in file://${dir}/cxserver-servers (line 2); pools/ holds no admin state: after sync run \`poolctl depool sca1002.eqiad.wmnet\``,
      'pybal.conf:16:28: [cxserver_8080] idleconnection.max-delay: PyBal backs off its reconnects to a down server up to max-delay seconds; poold retries at every check interval instead (10s by default), so there is no max-delay; not carried over',
      'pybal.conf:17:16: [cxserver_8080] fancy-option: not understood by poold (or its monitor is not listed in monitors); not carried over',
      "pybal.conf:21:1: [text]: the section name does not end in _80: poold names this LVS service text_80 (<name>_80, as pybal.conf.erb does), so PyBal's /pools/text is /pools/text_80",
      'pybal.conf:21:1: [text]: pybal.conf names no conftool cluster; used "text": set the real one (poolctl import pybal --cluster)',
      'E pybal.conf:26:10: [text] config: server list http://config-master.wikimedia.org/pybal/eqiad/text is an http URL, which import does not fetch (it works offline); pass the file with the server list (or, for a config-master list, --catalog and --conftool-nodes); servers left empty: add them before loading',
      'pybal.conf:29:24: [text] runcommand.arguments: server.port is not a string to PyBal, so PyBal ignored this list and ran /usr/lib/nagios/plugins/check_http with one empty argument; poold will pass these arguments: check that the command works with them',
      'pybal.conf:30:25: [text] runcommand.log-output: poold always records plugin output in the check detail; not carried over',
    ],
  );
  t.notOk(importSucceeded(r), 'the text service lost its servers: the import is incomplete');
  t.match(r.yaml, /# NOTE: idleconnection.max-delay \(line 16\)/);
  // The text service has no servers (http list): the loader says so, located in the imported YAML.
  t.equal(r.problems.length, 1);
  t.match(r.problems[0].message, /servers/);

  const loaded = parsePoolsText(r.yaml.replace('servers: {}', 'servers:\n      cp1001.eqiad.wmnet: { weight: 1 }'), 'imported.yaml');
  t.same(loaded.problems, []);
  const cx = loaded.services.find((s) => s.name === 'cxserver_8080')!;
  t.match(cx, { dc: 'eqiad', catalog: 'cxserver', pool: { cluster: 'sca', service: 'cxserver' }, lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'i' }, depoolThreshold: 0.5 });
  t.same(cx.servers, { 'sca1001.eqiad.wmnet': { weight: 10 }, 'sca1002.eqiad.wmnet': { weight: 5 } });
  t.match(cx.checks[0], { kind: 'http', urls: ['/_info'], host: 'cxserver.svc.eqiad.wmnet', timeoutMs: 3000, intervalMs: 10_000, rise: 1, fall: 1 });
  t.match(cx.checks[1], { kind: 'idle-connection', reconnectTimeoutMs: 3000 });
  const text = loaded.services.find((s) => s.name === 'text_80')!;
  t.same((text.checks[0] as { argv: string[] }).argv, ['/usr/lib/nagios/plugins/check_http', '-H', '{address}', '-I', '{host}', '-p', '{port}']);

  // Round trip: rendering the imported pools gives back PyBal's view of the same checks.
  const again = parsePybalConf(renderPybal(loaded.services, 'http://poold:9090').text, 'rendered.conf');
  const cx2 = again.services.find((s) => s.name === 'cxserver_8080')!;
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

// ---- config = etcd://…: the pool is named exactly; its hosts come from conftool-data's node file ----

const NODES = `eqiad:
  jobrunner: &jobrunner
    mw1001.eqiad.wmnet: [apache2, nginx]
    mw1002.eqiad.wmnet: [apache2]
  videoscaler: *jobrunner
  kubernetes:
    kubernetes1001.eqiad.wmnet: [kubesvc]
    kubernetes1002.eqiad.wmnet: [kubesvc]
    kubernetes1003.eqiad.wmnet: [kubesvc, other]
  empty:
codfw:
  kubernetes:
    kubernetes2001.codfw.wmnet: [kubesvc]
`;

function section(name: string, port: number, config: string, extra = '', over: { ops?: string; tunneling?: string } = {}): string {
  return `[${name}]
protocol = tcp
ip = 10.2.2.${port % 250}
port = ${port}
scheduler = wrr
ops = ${over.ops ?? 'false'}
tunneling = ${over.tunneling ?? 'false'}
config = ${config}
depool-threshold = 0.5
monitors = ["IdleConnection"]
${extra}`;
}

const ETCD = (path: string) => `etcd://conf1007.eqiad.wmnet:4001/conftool/v1/pools/${path}/`;

async function importText(t: Test, conf: string, files: { nodes?: string; catalog?: string } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'poold-import-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'pybal.conf'), conf);
  if (files.nodes !== undefined) await writeFile(join(dir, 'nodes.yaml'), files.nodes);
  if (files.catalog !== undefined) await writeFile(join(dir, 'service.yaml'), files.catalog);
  return importPybalFile(join(dir, 'pybal.conf'), {
    dc: 'eqiad',
    nodesFile: files.nodes !== undefined ? join(dir, 'nodes.yaml') : undefined,
    catalogFile: files.catalog !== undefined ? join(dir, 'service.yaml') : undefined,
  });
}

t.test('etcd pools: one pools: entry per pool, hosts from the node file (aliases too), sections keep their names', async (t) => {
  const conf = [
    section('apertium_4737', 4737, ETCD('eqiad/kubernetes/kubesvc')),
    section('citoid_4003', 4003, ETCD('eqiad/kubernetes/kubesvc')),
    section('videoscaler_443', 443, ETCD('eqiad/videoscaler/nginx')),
    // One label on two ports: the services map cannot hold `textlb` twice.
    section('textlb_80', 80, ETCD('eqiad/jobrunner/apache2')),
    section('textlb_443', 443, ETCD('eqiad/jobrunner/apache2'), 'bgp = no\n'),
  ].join('\n');
  const r = await importText(t, conf, { nodes: NODES });
  t.same(r.problems, []);
  t.ok(importSucceeded(r), r.warnings.filter((w) => w.essential).map((w) => w.message).join('\n'));
  const loaded = parsePoolsText(r.yaml, 'imported.yaml');
  t.same(loaded.problems, []);
  const byName = Object.fromEntries(loaded.services.map((s) => [s.name, s]));
  t.same(Object.keys(byName).sort(), ['apertium_4737', 'citoid_4003', 'textlb_443', 'textlb_80', 'videoscaler_443']);
  t.same(byName.apertium_4737.pool, { cluster: 'kubernetes', service: 'kubesvc' });
  t.same(byName.apertium_4737.catalog, 'apertium');
  // conftool creates a node with weight 0 (pooled: inactive); the node file has no weights.
  t.same(byName.citoid_4003.servers, { 'kubernetes1001.eqiad.wmnet': { weight: 0 }, 'kubernetes1002.eqiad.wmnet': { weight: 0 }, 'kubernetes1003.eqiad.wmnet': { weight: 0 } });
  t.same(Object.keys(byName.videoscaler_443.servers), ['mw1001.eqiad.wmnet'], 'the alias *jobrunner gives videoscaler the same hosts');
  t.same(Object.keys(byName.textlb_80.servers), ['mw1001.eqiad.wmnet', 'mw1002.eqiad.wmnet']);
  t.same(byName.textlb_443.catalog, 'textlb');
  // Two sections over one pool: one pools: entry.
  t.equal(r.yaml.match(/^ {2}kubernetes\/kubesvc:$/gm)?.length, 1);
  t.match(r.yaml, /^ {2}textlb_80:$/m);
  t.match(r.yaml, /^ {2}textlb_443:$/m);
  t.match(r.yaml, /weight 0, what conftool gives a node/);
  // ops = false and tunneling = false say nothing is lost: no warning names them.
  t.notOk(r.warnings.some((w) => /\] (ops|tunneling):/.test(w.message)), 'no warning for ops = false or tunneling = false');
  // The etcd endpoint is said once, not per section.
  t.equal(r.warnings.filter((w) => /etcd at conf1007/.test(w.message)).length, 1);
  // bgp = no is carried as lvs.bgp: false, so nothing names it.
  t.same(r.warnings.filter((w) => /\] bgp:/.test(w.message)), []);
  t.equal(byName.textlb_443.lvs.bgp, false);
  t.equal(byName.textlb_80.lvs.bgp, undefined);
});

t.test('ops = true is one-packet scheduling (not BGP); tunneling = true is IPIP forwarding, carried as method i', async (t) => {
  const conf = [section('dns_53', 53, ETCD('eqiad/kubernetes/kubesvc'), '', { ops: 'true' }), section('tun_80', 80, ETCD('eqiad/kubernetes/kubesvc'), '', { tunneling: 'yes' })].join('\n');
  const r = await importText(t, conf, { nodes: NODES });
  t.ok(importSucceeded(r));
  const ops = r.warnings.filter((w) => /\] ops:/.test(w.message));
  t.equal(ops.length, 1);
  t.match(ops[0].message, /one-packet scheduling \(ipvsadm -o/);
  t.notMatch(ops[0].message, /BGP/i);
  t.same(r.warnings.filter((w) => /tunneling/.test(w.message)), [], 'tunneling is carried, so no warning names it');
  const svc = parsePoolsText(r.yaml, 'x.yaml').services.find((s) => s.name === 'tun_80')!;
  t.equal(svc.lvs.method, 'i');
});

t.test('essential losses fail the import, each located: no node file, another dc, an empty pool, a bad etcd path, a UDP monitor', async (t) => {
  const noNodes = await importText(t, section('a_80', 80, ETCD('eqiad/kubernetes/kubesvc')));
  t.notOk(importSucceeded(noNodes));
  t.match(noNodes.warnings.find((w) => w.essential), { line: 8, col: 10, message: /pass conftool-data's node file \(--conftool-nodes\)/ });

  const conf = [
    section('other_80', 80, ETCD('codfw/kubernetes/kubesvc')),
    section('empty_81', 81, ETCD('eqiad/empty/x')),
    section('bad_82', 82, 'etcd://conf1007.eqiad.wmnet:4001/conftool/v1/kubesvc/'),
    section('udp_83', 83, ETCD('eqiad/kubernetes/kubesvc'), 'monitors = ["UDP"]\n'),
  ].join('\n');
  const r = await importText(t, conf, { nodes: NODES });
  t.notOk(importSucceeded(r));
  const essential = r.warnings.filter((w) => w.essential).map((w) => `${w.line}: ${w.message}`);
  t.same(essential.length, 4, essential.join('\n'));
  t.match(essential[0], /^8: \[other_80\] config: names the pool of dc codfw, but this pybal.conf is imported for dc eqiad/);
  t.notMatch(r.yaml, /kubernetes2001/, 'no host of another dc is imported');
  t.match(essential[1], /^19: \[empty_81\] config: no host of .*nodes.yaml is in conftool pool eqiad\/empty\/x/);
  t.match(essential[2], /^30: \[bad_82\] config: .*its path is not <prefix>\/pools\/<dc>\/<cluster>\/<service>\//);
  t.match(essential[3], /^\d+: \[udp_83\] monitors: the UDP monitor has no poold check kind/);
});

t.test('a conftool root other than /conftool/v1 is said, not silently assumed', async (t) => {
  const r = await importText(t, section('a_80', 80, 'etcd://conf1007.eqiad.wmnet:4001/conftool/v2/pools/eqiad/kubernetes/kubesvc/'), { nodes: NODES });
  t.ok(importSucceeded(r));
  t.match(r.warnings.find((w) => /conftool keys live under/.test(w.message)), { line: 8, essential: false, message: /under \/conftool\/v2 here; poold's conftool root is a daemon setting \(POOLD_CONFTOOL_ROOT, default \/conftool\/v1\)/ });
});

t.test('a malformed node file is a located error', async (t) => {
  await t.rejects(importText(t, section('a_80', 80, ETCD('eqiad/kubernetes/kubesvc')), { nodes: 'eqiad:\n  kubernetes:\n    k1.eqiad.wmnet: kubesvc\n' }), {
    name: 'ConfigError',
    message: /nodes\.yaml:3:21: eqiad\/kubernetes\/k1\.eqiad\.wmnet: expected a list of service names/,
  });
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
  // Only [plain]'s name without _80 is reported: tunneling, bgp and bgp-med are carried over.
  t.same(r.warnings.map((w) => w.message), [
    "[plain]: the section name does not end in _80: poold names this LVS service plain_80 (<name>_80, as pybal.conf.erb does), so PyBal's /pools/plain is /pools/plain_80",
  ]);
  const loaded = parsePoolsText(r.yaml, 'imported.yaml');
  t.same(loaded.problems, []);
  const tun = loaded.services.find((s) => s.name === 'cloudelastic-chi-https_9243')!;
  t.same(tun.lvs, { ip: '10.2.2.54', port: 9243, protocol: 'tcp', scheduler: 'mh', method: 'i', bgp: false, bgpMed: 10 });
  const plain = loaded.services.find((s) => s.name === 'plain_80')!;
  t.same(plain.lvs, { ip: '10.2.2.55', port: 80, protocol: 'tcp', scheduler: 'wrr', method: 'g' });

  const text = renderPybal(loaded.services, 'http://poold:9090').text;
  const back = parsePybalConf(text, 'rendered.conf');
  t.match(back.services.find((s) => s.name === 'cloudelastic-chi-https_9243'), { tunneling: true, bgp: false, bgpMed: 10 });
  t.match(back.services.find((s) => s.name === 'plain_80'), { tunneling: false, bgp: true });
  t.notMatch(text.split('[plain_80]')[1], /tunneling|bgp/, 'defaults are not written');
});

t.test('bgp-med (PyBal 1.15 per-service MED): imported as lvs.bgp_med, rendered back as bgp-med; sections on one IP must agree, as PyBal requires', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-import-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'servers'), "{ 'host': 'mw1001.eqiad.wmnet', 'weight': 10, 'enabled': True }\n");
  const sec = (name: string, ip: string, port: number, extra: string[]) => [
    `[${name}_${port}]`, 'protocol = tcp', `ip = ${ip}`, `port = ${port}`, 'scheduler = wrr', `config = file://${dir}/servers`,
    ...extra, "monitors = [ 'IdleConnection' ]", '',
  ];
  const conf = (...sections: string[][]) => ['[global]', 'bgp = yes', 'bgp-med = 100', '', ...sections.flat()].join('\n');
  // Two ports of one VIP with the same MED, and a VIP with none (the global MED).
  await writeFile(join(dir, 'pybal.conf'), conf(sec('appservers', '10.2.2.1', 80, ['bgp-med = 10']), sec('appservers-https', '10.2.2.1', 443, ['bgp-med = 10']), sec('api', '10.2.2.22', 80, [])));
  const r = await importPybalFile(join(dir, 'pybal.conf'), { dc: 'eqiad', cluster: 'appserver' });
  t.same(r.problems, []);
  t.same(r.warnings.filter((w) => !w.message.startsWith('[global]') && /bgp-med/.test(w.message)), [], 'a section\'s bgp-med is carried over, not warned about');
  t.equal(r.yaml.match(/^ {6}bgp_med: 10$/gm)?.length, 2, 'written as lvs.bgp_med of both sections');
  const loaded = parsePoolsText(r.yaml, 'imported.yaml');
  t.same(loaded.problems, []);
  const med = (name: string) => loaded.services.find((s) => s.name === name)!.lvs.bgpMed;
  t.same([med('appservers_80'), med('appservers-https_443'), med('api_80')], [10, 10, undefined], 'absent stays absent (the agent\'s --bgp-med)');
  // Round trip: render writes bgp-med only where set, and parses back to the same values.
  const text = renderPybal(loaded.services, 'http://poold:9090').text;
  t.match(text, /\[appservers_80\][^[]*\nbgp-med = 10\n/);
  t.notMatch(text.split('[api_80]')[1]!.split('\n[')[0], /bgp-med/, 'absent is not written');
  const back = parsePybalConf(text, 'rendered.conf');
  t.same(back.services.map((s) => [s.name, s.bgpMed]), [['api_80', undefined], ['appservers_80', 10], ['appservers-https_443', 10]]);

  // PyBal refuses to start when the bgp sections of one IP differ (ValueError naming the service, the
  // MED and the IP); so does the parser, located. A section without bgp-med differs from one with it.
  await writeFile(join(dir, 'bad.conf'), conf(sec('appservers', '10.2.2.1', 80, ['bgp-med = 10']), sec('appservers-https', '10.2.2.1', 443, ['bgp-med = 20'])));
  await t.rejects(importPybalFile(join(dir, 'bad.conf'), { dc: 'eqiad', cluster: 'appserver' }), {
    name: 'ConfigError',
    message: /bad\.conf:20:11: \[appservers-https_443\] bgp-med: bgp-med 20 differs from \[appservers_80\] \(bgp-med 10, line 11\) on IP 10\.2\.2\.1: PyBal refuses to start/,
  });
  t.throws(() => parsePybalConf(conf(sec('a', '10.2.2.1', 80, ['bgp-med = 10']), sec('b', '10.2.2.1', 443, [])), 'x.conf'), { message: /x\.conf:\d+:\d+: \[b_443\] ip: no bgp-med differs from \[a_80\] \(bgp-med 10, line 11\) on IP 10\.2\.2\.1/ });
  // A section with bgp = no announces nothing and is not compared; another IP is another route.
  t.equal(parsePybalConf(conf(sec('a', '10.2.2.1', 80, ['bgp-med = 10']), sec('b', '10.2.2.1', 443, ['bgp = no', 'bgp-med = 20'])), 'x.conf').services.length, 2);
  t.equal(parsePybalConf(conf(sec('a', '10.2.2.1', 80, ['bgp-med = 10']), sec('b', '10.2.2.2', 443, ['bgp-med = 20'])), 'x.conf').services.length, 2);
  // A MED is 32 bits.
  t.throws(() => parsePybalConf(conf(sec('a', '10.2.2.1', 80, ['bgp-med = 4294967296'])), 'x.conf'), { message: /\[a_80\] bgp-med: must be between 0 and 4294967295, got 4294967296/ });
  t.throws(() => parsePybalConf(conf(sec('a', '10.2.2.1', 80, ['bgp-med = low'])), 'x.conf'), { message: /\[a_80\] bgp-med: expected an integer, got "low"/ });
});
