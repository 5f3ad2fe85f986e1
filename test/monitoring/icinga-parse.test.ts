import t from 'tap';
import { ConfigError } from '../../src/model/errors.js';
import { parseIcinga2, parseNagios } from '../../src/monitoring/icinga-parse.js';

t.test('icinga2: objects, flattened vars, durations, comments; expressions become warnings, not guesses', async (t) => {
  const text = `/* header */
const PluginDir = "/usr/lib/nagios/plugins"
template Service "generic" { check_interval = 1m }
apply Service "ping" { check_command = "ping4"; assign where host.address }
object Service "cx" ignore_on_error {
  import "generic"
  host_name = "sca1001"   // trailing comment
  check_interval = 1m
  vars = { http_uri = "/_info", http_port = 8080 }
  vars["http_vhost"] = "cx.svc"
  vars.list = [ "a", "b" ]
  vars.computed = "/" + host.name
  vars.after = true
}
`;
  const { objects, warnings } = parseIcinga2(text, 'x.conf');
  t.equal(objects.length, 1);
  t.same(objects[0], {
    type: 'Service',
    name: 'cx',
    line: 5,
    attrs: {
      'import.generic': true,
      host_name: 'sca1001',
      check_interval: 60,
      'vars.http_uri': '/_info',
      'vars.http_port': 8080,
      'vars.http_vhost': 'cx.svc',
      'vars.list': ['a', 'b'],
      'vars.after': true,
    },
  });
  t.same(warnings.map((w) => `${w.line}:${w.col} ${w.message}`), ['12:3 Service "cx": vars.computed = is not a literal; not compared']);
});

t.test('icinga2: broken structure is a ConfigError with a location', async (t) => {
  const err = t.throws(() => parseIcinga2('object Host "h" {\n  address = "1.2.3.4\n}\n', 'h.conf')) as unknown as ConfigError;
  t.type(err, ConfigError);
  t.match(err.message, /^h\.conf:2:13: unterminated string/);
});

t.test('nagios: define blocks, check_command arguments, custom vars', async (t) => {
  const { objects } = parseNagios(
    `define service {
    host_name           sca1001
    service_description poold eqiad/cxserver ; comment
    check_command       poold-check!eqiad/cxserver!sca1001\\!x
    _POOLD_HTTP_PATHS   /_info,/v1
    _POOLD_HTTP_PORT    8080
    _POOLD_HTTP_STATUS  200
}
`,
    'n.cfg',
  );
  t.same(objects[0].attrs, {
    host_name: 'sca1001',
    service_description: 'poold eqiad/cxserver',
    check_command: 'poold-check',
    check_args: ['eqiad/cxserver', 'sca1001!x'],
    'vars.poold_http_paths': ['/_info', '/v1'],
    'vars.poold_http_port': 8080,
    'vars.poold_http_status': '200',
  });
  t.throws(() => parseNagios('define host {\n host_name x\n', 'n.cfg'), { message: 'n.cfg:1:1: define block is missing its closing }' });
});
