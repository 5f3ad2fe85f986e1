import t from 'tap';
import { ConfigError } from '../../src/model/errors.js';
import { parsePybalConf, uninterpretedOptions } from '../../src/config/pybal-parse.js';
import { parsePyLiteral, PyName, formatPyLiteral } from '../../src/config/pybal-literal.js';

const GOOD = `# deployed by puppet
[global]
bgp = yes

[cxserver]
Protocol = tcp
ip = 10.2.2.18
port = 8080
scheduler = wrr
config = http://config-master.wikimedia.org/pybal/eqiad/cxserver
bgp = yes
depool-threshold = .5
monitors = [ "ProxyFetch", "IdleConnection" ]
ProxyFetch.URL = [ 'http://cxserver.svc.eqiad.wmnet/_info',
    'http://cxserver.svc.eqiad.wmnet/v1/list' ]
proxyfetch.timeout = 3
proxyfetch.http_status = 200 ; inline comment
idleconnection.timeout-clean-reconnect = 3
idleconnection.max-delay = 300
weird-option = 42

[text]
protocol = tcp
ip = 192.0.2.11
port = 80
scheduler = wlc
config = file:///etc/pybal/text-servers
monitors = [ 'RunCommand' ]
runcommand.command = /bin/sh
runcommand.arguments = [ '/etc/pybal/check', server.host, 'one' ]
`;

t.test('parses sections, Python literals, case-insensitive option names and continuations', async (t) => {
  const conf = parsePybalConf(GOOD, 'pybal.conf');
  t.equal(conf.global?.options.get('bgp')?.value, 'yes');
  t.equal(conf.services.length, 2);
  const cx = conf.services[0];
  t.equal(cx.name, 'cxserver');
  t.equal(cx.protocol, 'tcp');
  t.equal(cx.port, 8080);
  t.equal(cx.depoolThreshold, 0.5);
  t.same(cx.monitors, ['ProxyFetch', 'IdleConnection']);
  t.same(cx.proxyfetch, {
    urls: ['http://cxserver.svc.eqiad.wmnet/_info', 'http://cxserver.svc.eqiad.wmnet/v1/list'],
    timeoutS: 3,
    httpStatus: 200,
    checkAll: false,
    maxFailures: 0,
    intervalS: 10,
  });
  t.same(cx.idleconnection, { timeoutCleanReconnectS: 3, maxDelayS: 300 });
  t.same(uninterpretedOptions(cx).map((o) => [o.name, o.line]), [['weird-option', 20]]);
  const text = conf.services[1];
  t.equal(text.runcommand?.command, '/bin/sh');
  t.same(text.runcommand?.arguments, ['/etc/pybal/check', new PyName('server.host'), 'one']);
  t.equal(text.depoolThreshold, 0.5, 'PyBal default threshold');
});

t.test('reports every problem with file:line:col', async (t) => {
  const bad = `[a]
protocol = sctp
ip = 10.0.0.1
port = 80x
scheduler = wrr
config = file:///x
depool-threshold = 1.5
monitors = [ 'ProxyFetch', 'Bogus' ]
proxyfetch.url = [ 'http://x/', 
proxyfetch.timeout = soon
orphan-line-without-equals
[b]
ip = 10.0.0.2
`;
  const err = t.throws(() => parsePybalConf(bad, 'lvs.conf')) as unknown as ConfigError;
  t.type(err, ConfigError);
  const lines = err.message.split('\n');
  t.same(lines, [
    'lvs.conf:2:12: [a] protocol: expected tcp or udp, got "sctp"',
    'lvs.conf:4:8: [a] port: expected an integer, got "80x"',
    'lvs.conf:7:20: [a] depool-threshold: must be between 0 and 1, got 1.5',
    'lvs.conf:8:12: [a] monitors: unknown monitor "Bogus" (known: ProxyFetch, IdleConnection, RunCommand, DNSQuery, UDP)',
    'lvs.conf:9:18: [a] proxyfetch.url: not a Python literal: missing ] for the list opened here',
    'lvs.conf:10:22: [a] proxyfetch.timeout: expected an integer, got "soon"',
    'lvs.conf:11:1: expected "name = value", a [section] header or a comment',
    'lvs.conf:12:1: [b] missing required option protocol',
    'lvs.conf:12:1: [b] missing required option port',
    'lvs.conf:12:1: [b] missing required option scheduler',
    'lvs.conf:12:1: [b] missing required option config',
  ]);
});

t.test('duplicate options warn and the later wins; options before a section fail', async (t) => {
  const conf = parsePybalConf('[a]\nprotocol=tcp\nip=1.2.3.4\nport=80\nscheduler=wrr\nconfig=file:///x\nPORT=81\n', 'f');
  t.equal(conf.services[0].port, 81);
  t.match(conf.warnings[0], { line: 7, message: /option PORT repeats line 4/ });
  t.throws(() => parsePybalConf('ip = 1\n[a]\n', 'f'), { message: 'f:1:1: option before any [section] header' });
});

t.test('python literals', async (t) => {
  t.same(parsePyLiteral(`{ 'host': 'sca1001', 'weight':10, 'enabled': True }`), { ok: true, value: { host: 'sca1001', weight: 10, enabled: true } });
  t.same(parsePyLiteral(`[ "a", 'b\\'c', .5, -3, None, False ]`), { ok: true, value: ['a', "b'c", 0.5, -3, null, false] });
  t.same(parsePyLiteral(`[ 'a' 'b' ]`), { ok: false, offset: 6, message: 'expected , or ]' });
  t.same(parsePyLiteral(`'abc`), { ok: false, offset: 0, message: 'unterminated string starting with \'' });
  t.equal(formatPyLiteral(['x', new PyName('server.host'), "it's"]), `[ 'x', server.host, 'it\\'s' ]`);
});

t.test('ConfigParser %-interpolation, [DEFAULT] inheritance', async (t) => {
  const conf = parsePybalConf(
    `[DEFAULT]
dc = eqiad
scheduler = wrr
[cxserver]
protocol = tcp
ip = 10.2.2.18
port = 8080
config = http://config-master/pybal/%(dc)s/cxserver
monitors = [ 'ProxyFetch' ]
proxyfetch.url = [ 'http://cxserver.svc.%(dc)s.wmnet/_info?q=100%%' ]
`,
    'f',
  );
  const s = conf.services[0];
  t.equal(s.scheduler, 'wrr');
  t.equal(s.config, 'http://config-master/pybal/eqiad/cxserver');
  t.same(s.proxyfetch?.urls, ['http://cxserver.svc.eqiad.wmnet/_info?q=100%']);
  t.throws(() => parsePybalConf('[a]\nprotocol=tcp\nip=1.2.3.4\nport=80\nscheduler=wrr\nconfig=http://x/%20y\n', 'g'), {
    message: "g:6:17: [a] config: '%' must be followed by '%' or '(name)s' (write %% for a literal %)",
  });
  t.throws(() => parsePybalConf('[a]\nprotocol=tcp\nip=%(nope)s\nport=80\nscheduler=wrr\nconfig=x\n', 'g'), { message: /g:3:4: \[a\] ip: %\(nope\)s names no option/ });
});

t.test('any input either parses or fails with located ConfigProblems, never another error', async (t) => {
  const fc = (await import('fast-check')).default;
  const piece = fc.constantFrom('[a]\n', '[global]\n', 'protocol = tcp\n', 'ip = 1.2.3.4\n', 'port = 80\n', 'port = x\n', 'scheduler = wrr\n', 'config = file:///x\n',
    "monitors = [ 'ProxyFetch' ]\n", "proxyfetch.url = [ 'http://h/", "'\n", ' continued\n', '%(ip)s', '%', '; c\n', '\n', '=', ']', '[', '"', 'runcommand.arguments = [ server.host ]\n');
  const text = fc.array(fc.oneof(piece, fc.string({ maxLength: 5 })), { maxLength: 30 }).map((a) => a.join(''));
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(text, (s) => {
        const lines = s.split(/\r?\n/).length;
        try {
          parsePybalConf(s, 'fuzz.conf');
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          for (const p of e.problems) if (p.file !== 'fuzz.conf' || p.line < 1 || p.line > lines || p.col < 1) throw new Error(`bad location ${JSON.stringify(p)}`, { cause: e });
        }
      }),
      { numRuns: 1000 },
    ),
  );
});
