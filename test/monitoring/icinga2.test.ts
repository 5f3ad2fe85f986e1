import t from 'tap';
import { renderIcinga2 } from '../../src/monitoring/icinga2.js';
import { renderNagios } from '../../src/monitoring/nagios.js';
import { cxserver, parsoid } from './fixtures.js';
import { hasNagios4, validateIcinga2, validateNagios } from './validators.js';

const OPTS = { pooldUrl: 'http://poold.svc.eqiad.wmnet:9090', poolctlPath: '/opt/poold/bin/poolctl' };
const SERVICES = [parsoid(), cxserver({ monitoring: { notes: 'Runbook: https://wikitech/cxserver', contactGroups: ['team-lang'] } })];

t.test('icinga2: the real `icinga2 daemon -C` accepts the generated config', async (t) => {
  const text = renderIcinga2(SERVICES, OPTS);
  const v = await validateIcinga2(text);
  t.equal(v.code, 0, v.output);
  t.match(v.output, /Instantiated 8 Services/);
  t.match(v.output, /Instantiated 8 Hosts/);
});

t.test('icinga2: the validator really rejects broken config (guards the test above)', async (t) => {
  const text = renderIcinga2(SERVICES, OPTS).replace('check_command = "poold-check"', 'check_command = "no-such-command"');
  const v = await validateIcinga2(text);
  t.not(v.code, 0);
  t.match(v.output, /no-such-command/);
});

t.test('icinga2: one poold-check service per backend running the daemon check code', async (t) => {
  const text = renderIcinga2(SERVICES, OPTS);
  t.match(text, 'command = [ "/opt/poold/bin/poolctl", "check", "$poold_service$", "$poold_backend$", "--nagios" ]');
  t.match(text, 'command = [ "/opt/poold/bin/poolctl", "alerts", "--nagios" ]');
  const backendServices = text.match(/object Service "poold eqiad\/[^"]+" \{\n {2}host_name = "[^"]+"/g) ?? [];
  t.same(backendServices.map((s) => s.replace(/\n\s+/, ' ')), [
    'object Service "poold eqiad/cxserver" { host_name = "sca1001.eqiad.wmnet"',
    'object Service "poold eqiad/cxserver" { host_name = "sca1002.eqiad.wmnet"',
    'object Service "poold eqiad/parsoid" { host_name = "wtp1001.eqiad.wmnet"',
    'object Service "poold eqiad/parsoid" { host_name = "wtp1002.eqiad.wmnet"',
    'object Service "poold eqiad/parsoid" { host_name = "wtp1003.eqiad.wmnet"',
  ]);
  t.match(text, 'object Host "sca1001.eqiad.wmnet" {\n  display_name = "sca1001.eqiad.wmnet"\n  address = "127.0.0.11"');
  t.match(text, 'vars.poold_pool = "cxserver"');
  t.match(text, 'vars.poold_http_paths = [ "/_info" ]');
  t.match(text, 'notes = "Runbook: https://wikitech/cxserver"');
  t.equal(renderIcinga2([...SERVICES].reverse(), OPTS), text, 'deterministic');
});

t.test('icinga2: strings with quotes and macros are escaped', async (t) => {
  const text = renderIcinga2([cxserver({ monitoring: { notes: 'say "hi" \\ $x$' } })], { ...OPTS, poolctlPath: '/opt/$weird/poolctl' });
  t.match(text, 'notes = "say \\"hi\\" \\\\ $x$"');
  t.match(text, '"/opt/$$weird/poolctl"');
  const v = await validateIcinga2(text);
  t.equal(v.code, 0, v.output);
});

t.test('nagios: object definitions', async (t) => {
  const text = renderNagios(SERVICES, OPTS);
  t.match(text, "command_line /opt/poold/bin/poolctl check '$ARG1$' '$ARG2$' --nagios");
  t.match(text, /check_command +poold-check!eqiad\/cxserver!sca1001\.eqiad\.wmnet\n/);
  t.match(text, /check_command +poold-alerts!http:\/\/poold\.svc\.eqiad\.wmnet:9090\/alerts!cxserver\n/);
  t.match(text, /contact_groups +team-lang\n/);
  t.equal(renderNagios([...SERVICES].reverse(), OPTS), text, 'deterministic');
});

t.test('nagios: the real `nagios4 -v` accepts the generated config', { skip: hasNagios4 ? false : 'nagios4 is not installed (apt-get install nagios4-core)' }, async (t) => {
  const v = await validateNagios(renderNagios(SERVICES, OPTS));
  t.equal(v.code, 0, v.output);
  t.match(v.output, /Total Errors:\s+0/);
  t.match(v.output, /Checked 8 services/);
  const broken = await validateNagios(renderNagios(SERVICES, OPTS).replace('poold-check!', 'nope-check!'));
  t.not(broken.code, 0, 'validator rejects an unknown command');
});

t.test('the committed pools/ samples export to config both validators accept', async (t) => {
  const { loadPoolsOrThrow } = await import('../../src/config/pools/index.js');
  const services = await loadPoolsOrThrow(new URL('../../pools', import.meta.url).pathname);
  const backends = services.reduce((n, s) => n + Object.keys(s.servers).length, 0);
  for (const dc of [...new Set(services.map((s) => s.dc))]) {
    const inDc = services.filter((s) => s.dc === dc);
    const v = await validateIcinga2(renderIcinga2(inDc, { pooldUrl: `http://poold.svc.${dc}.wmnet:9090` }));
    t.equal(v.code, 0, `${dc}: ${v.output.slice(-2000)}`);
  }
  const all = await validateIcinga2(renderIcinga2(services, OPTS));
  t.equal(all.code, 0, all.output.slice(-2000));
  // one service per backend, one per pool, one /alerts service per dc
  const dcs = new Set(services.map((s) => s.dc)).size;
  t.match(all.output, new RegExp(`Instantiated ${backends + services.length + dcs} Services`));
  if (hasNagios4) {
    const n = await validateNagios(renderNagios(services, OPTS));
    t.equal(n.code, 0, n.output.slice(-2000));
  }
});

t.test('renderMonitoring dispatches by format and rejects unknown ones', async (t) => {
  const { renderMonitoring } = await import('../../src/monitoring/render.js');
  t.equal(renderMonitoring(SERVICES, 'icinga2', OPTS), renderIcinga2(SERVICES, OPTS));
  t.equal(renderMonitoring(SERVICES, 'nagios', OPTS), renderNagios(SERVICES, OPTS));
  t.throws(() => renderMonitoring(SERVICES, 'zabbix', OPTS), { name: 'UsageError', message: 'unknown monitoring format "zabbix": use icinga2 or nagios' });
});
