// Each rejection names the exact file:line:col and says what is wrong.
import t from 'tap';
import { FILE, problemsOf, yaml } from './pools-helpers.js';
import { loadPoolsFromTexts, parsePoolsText } from '../../src/config/pools/index.js';
import { formatProblem } from '../../src/model/errors.js';

/** A valid file; the cases below change one thing at a time and keep these line numbers. */
const VALID = yaml`
dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 8080 }
    checks:
      - kind: http
        path: /_info
    servers:
      sca1001.eqiad.wmnet: { weight: 10 }
      sca1002.eqiad.wmnet: { weight: 10 }
`;

/** VALID with line `n` (1-based) replaced by `text`. */
function withLine(n: number, text: string): string {
  const lines = VALID.split('\n');
  lines[n - 1] = text;
  return lines.join('\n');
}

t.test('the base case is valid', async (t) => {
  t.same(problemsOf(VALID), []);
  t.equal(parsePoolsText(VALID, FILE).services.length, 1);
});

t.test('malformed YAML', async (t) => {
  t.same(problemsOf(withLine(5, '    lvs: { ip: 10.2.2.18, port: 8080')), [
    // yaml notices the missing } where the next key starts.
    '6:5: Flow map in block collection must be sufficiently indented and end with a }',
  ]);
  // A tab where YAML requires spaces.
  // yaml reports the tab first, then what it made of the rest; all of it is passed on.
  t.same(problemsOf(withLine(4, '\tcluster: sca')), [
    '4:1: Tabs are not allowed as indentation',
    '4:11: Implicit keys need to be on a single line',
    '4:11: Nested mappings are not allowed in compact mappings',
    '6:1: All mapping items must start at the same column',
    '9:1: All mapping items must start at the same column',
  ]);
  t.same(problemsOf('dc: eqiad\n---\ndc: codfw\n'), [
    '2:1: Source contains multiple documents; please use YAML.parseAllDocuments()',
  ]);
  // Syntax errors stop the file: no service comes out of it.
  t.same(parsePoolsText(withLine(5, '    lvs: { ip: 10.2.2.18, port: 8080'), FILE).services, []);
});

t.test('empty file and wrong top-level shape', async (t) => {
  t.same(problemsOf(''), ['1:1: empty file: expected "dc" and "services"']);
  t.same(problemsOf('# only a comment\n'), ['1:1: empty file: expected "dc" and "services"']);
  t.same(problemsOf('- a\n- b\n'), ['1:1: a pools file must be a map with "dc" and "services" (got a list)']);
  t.same(problemsOf('dc: eqiad\n'), ['1:1: missing required key "services"']);
});

t.test('unknown keys, with did-you-mean when close', async (t) => {
  t.same(problemsOf(withLine(4, '    clustr: sca')), [
    '3:3: a service needs pool: <cluster>/<service> (an entry of pools:), or cluster and servers',
    '4:5: unknown key "clustr"; did you mean "cluster"?',
  ]);
  t.same(problemsOf(withLine(8, '        pth: /_info')), [
    '7:9: checks[0]: an http check needs `path` or `urls`',
    '8:9: unknown key "pth"; did you mean "path"?',
  ]);
  // camelCase of a snake_case key is always suggested.
  t.same(
    problemsOf(VALID.replace('    checks:', '    depoolThreshold: 0.5\n    checks:')),
    ['6:5: unknown key "depoolThreshold"; did you mean "depool_threshold"?'],
  );
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { weight: 10, zone: a }')), [
    '10:42: unknown key "zone" (allowed: weight, address)',
  ]);
  // Keys written one level too high say where they belong.
  t.same(problemsOf(withLine(8, '        path: /_info\n        status: [200]')), [
    '9:9: unknown key "status"; it belongs under expect',
  ]);
  t.same(problemsOf(withLine(8, '        path: /_info\n        expect: { contains: ok }')), [
    '9:19: unknown key "contains"; it belongs under expect.body',
  ]);
  t.same(problemsOf(withLine(1, 'dcx: eqiad')), [
    '1:1: missing required key "dc"',
    '1:1: unknown key "dcx"; did you mean "dc"?',
  ]);
  t.same(problemsOf(withLine(5, '    lvs: { ip: 10.2.2.18, port: 8080, schedular: wrr }')), [
    '5:39: unknown key "schedular"; did you mean "scheduler"?',
  ]);
});

t.test('weights must be non-negative integers', async (t) => {
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { weight: -1 }')), [
    '10:38: weight must be a whole number from 0 to 65535 (got -1)',
  ]);
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { weight: 2.5 }')), [
    '10:38: weight must be a whole number from 0 to 65535 (got 2.5)',
  ]);
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { weight: "10" }')), [
    '10:38: weight must be a whole number from 0 to 65535 (got "10")',
  ]);
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { address: 127.0.0.1 }')), [
    // A missing key is reported at the key naming the map that lacks it.
    '10:7: missing required key "weight" in sca1001.eqiad.wmnet',
  ]);
});

t.test('duplicate hosts (duplicate YAML keys) and duplicate addresses', async (t) => {
  t.same(problemsOf(withLine(11, '      sca1001.eqiad.wmnet: { weight: 20 }')), [
    '11:7: duplicate key "sca1001.eqiad.wmnet"',
  ]);
  // Inside flow maps too, and the first copy is the one validated.
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { weight: -1, weight: 2 }')), [
    '10:38: weight must be a whole number from 0 to 65535 (got -1)',
    '10:42: duplicate key "weight"',
  ]);
  // A service defined twice in one file.
  t.same(problemsOf(VALID + VALID.split('\n').slice(2).join('\n')), ['12:3: duplicate key "cxserver"']);
  const sameAddress = VALID.replace('{ weight: 10 }\n', '{ weight: 10, address: 127.0.0.9 }\n').replace(
    '      sca1002.eqiad.wmnet: { weight: 10 }',
    '      sca1002.eqiad.wmnet: { weight: 10, address: 127.0.0.9 }',
  );
  t.same(problemsOf(sameAddress), ['11:51: address 127.0.0.9 is already used by sca1001.eqiad.wmnet (line 10)']);
});

t.test('bad durations', async (t) => {
  const withCheckLine = (line: string) => VALID.replace('        path: /_info\n', `        path: /_info\n${line}\n`);
  t.same(problemsOf(withCheckLine('        timeout: 5 sec')), [
    '9:18: timeout: a duration is a string with units, such as 5s, 250ms or 1m30s (got "5 sec")',
  ]);
  t.same(problemsOf(withCheckLine('        timeout: 5')), [
    '9:18: timeout: a duration is a string with units, such as 5s, 250ms or 1m30s (got 5)',
  ]);
  t.same(problemsOf(withCheckLine('        interval: 0s')), ['9:19: interval must be greater than 0 (got "0s")']);
  for (const ok of ['5s', '250ms', '1m30s', '0.5s']) t.same(problemsOf(withCheckLine(`        timeout: ${ok}`)), [], ok);
  // timeout > interval is allowed (the scheduler never overlaps runs of one check).
  t.same(problemsOf(withCheckLine('        timeout: 10s\n        interval: 2s')), []);
  t.same(problemsOf(VALID.replace('    servers:', '    flapping: { transitions: 1, window: 0ms }\n    servers:')), [
    '9:30: transitions must be an integer of at least 2 (got 1)',
    '9:41: window must be greater than 0 (got "0ms")',
  ]);
});

t.test('depool_threshold must be within [0, 1]', async (t) => {
  const withThreshold = (v: string) => VALID.replace('    checks:', `    depool_threshold: ${v}\n    checks:`);
  const msg = 'depool_threshold must be a number from 0 to 1 (the fraction of servers that must stay pooled)';
  t.same(problemsOf(withThreshold('1.5')), [`6:23: ${msg} (got 1.5)`]);
  t.same(problemsOf(withThreshold('-0.1')), [`6:23: ${msg} (got -0.1)`]);
  t.same(problemsOf(withThreshold('.nan')), [`6:23: ${msg} (got NaN)`, '6:23: depool_threshold: must be a finite number (got NaN)']);
  t.same(problemsOf(withThreshold('0')), []);
  t.same(problemsOf(withThreshold('1')), []);
});

t.test('invalid IPs and ports', async (t) => {
  t.same(problemsOf(withLine(5, '    lvs: { ip: 10.2.2.300, port: 8080 }')), [
    '5:16: ip: must be an IPv4 or IPv6 address such as 10.2.2.18 (got "10.2.2.300")',
  ]);
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { weight: 10, address: "fe80::g" }')), [
    '10:51: address: must be an IPv4 or IPv6 address such as 10.2.2.18 (got "fe80::g")',
  ]);
  t.same(problemsOf(withLine(5, '    lvs: { ip: "2620:0:861:ed1a::1", port: 443 }')), []);
  t.same(problemsOf(withLine(5, '    lvs: { ip: 10.2.2.18, port: 0 }')), [
    '5:33: port: a port must be an integer from 1 to 65535 (got 0)',
  ]);
  t.same(problemsOf(withLine(5, '    lvs: { ip: 10.2.2.18, port: 70000 }')), [
    '5:33: port: a port must be an integer from 1 to 65535 (got 70000)',
  ]);
  t.same(problemsOf(withLine(5, '    lvs: { ip: 10.2.2.18, port: "80" }')), [
    '5:33: port: a port must be an integer from 1 to 65535 (got "80")',
  ]);
  t.same(problemsOf(withLine(8, '        path: /_info\n        port: 65536')), [
    '9:15: port: a port must be an integer from 1 to 65535 (got 65536)',
  ]);
});

t.test('empty or missing servers', async (t) => {
  const head = VALID.split('    servers:')[0];
  const msg = 'servers must be a map of host name to {weight, address?}, with at least one server';
  t.same(problemsOf(`${head}    servers: {}\n`), [`9:14: ${msg}`]);
  // An empty value points at its key.
  t.same(problemsOf(`${head}    servers:\n`), [`9:5: ${msg} (got null)`]);
  // cluster without servers: pointed at cluster (the older form needs both; the newer names a pool).
  t.same(problemsOf(head), ['4:5: with cluster, list the servers too (or name a pool with pool: <cluster>/<service>)']);
  t.same(problemsOf(withLine(10, '      sca_1001: { weight: 10 }')), [
    '10:7: invalid key "sca_1001": a host must be a DNS name such as sca1001.eqiad.wmnet',
  ]);
});

t.test('http check mistakes', async (t) => {
  t.same(problemsOf(withLine(8, '        path: /_info\n        urls: [/a, /b]')), [
    '9:9: use either `path` or `urls`, not both',
  ]);
  t.same(problemsOf(withLine(8, '        path: _info')), [
    "8:15: path: a URL path must start with '/' and contain no spaces; set host and scheme separately (got \"_info\")",
  ]);
  t.same(problemsOf(withLine(8, '        urls: []')), ['8:15: urls must be a non-empty list of distinct paths']);
  t.same(problemsOf(withLine(8, '        urls: [/a, /a]')), ['8:15: urls must be a non-empty list of distinct paths']);
  t.same(problemsOf(withLine(8, '        path: /\n        method: get')), [
    '9:17: method: must be one of GET, HEAD (got "get"); did you mean "GET"?',
  ]);
  t.same(problemsOf(withLine(8, '        path: /\n        unclosed: warning')), [
    '9:19: unclosed: must be one of ignore, warn, fail (got "warning"); did you mean "warn"?',
  ]);
  t.same(problemsOf(withLine(8, '        path: /\n        max_failures: 1')), [
    '9:9: max_failures only applies with check_all: true (otherwise one URL is fetched per round)',
  ]);
  t.same(problemsOf(withLine(8, '        urls: [/a, /b]\n        check_all: true\n        max_failures: 2')), [
    '10:23: max_failures 2 lets all 2 URLs fail: the check could never go down',
  ]);
  t.same(problemsOf(withLine(8, '        path: /\n        tls: { verify: false }')), ['9:9: tls settings need scheme: https']);
  t.same(problemsOf(withLine(8, '        path: /\n        scheme: https\n        tls: { verify: false, sni: x.wmnet }')), []);
  t.same(problemsOf(withLine(8, '        path: /\n        headers: { Host: a.wmnet, X-Client: 1 }')), [
    '9:20: set the Host header with `host:`, not in headers',
    '9:45: X-Client: header values must be strings (quote numbers) (got 1)',
  ]);
});

t.test('status forms', async (t) => {
  const withStatus = (s: string) => withLine(8, `        path: /\n        expect: { status: ${s} }`);
  const itemMsg = 'a status is a code from 100 to 599 or a range string such as "200-299"';
  t.same(problemsOf(withStatus('[200, 204]')), []);
  t.same(problemsOf(withStatus('["200-299", 301]')), []);
  t.same(problemsOf(withStatus('"200-299"')), [
    '9:27: status must be a list such as [200] or ["200-299"] (got "200-299")',
  ]);
  t.same(problemsOf(withStatus('200')), ['9:27: status must be a list such as [200] or ["200-299"] (got 200)']);
  t.same(problemsOf(withStatus('[99, "2xx"]')), [`9:28: status[0]: ${itemMsg} (got 99)`, `9:32: status[1]: ${itemMsg} (got "2xx")`]);
  t.same(problemsOf(withStatus('["299-200"]')), ['9:28: status range "299-200" is backwards; write "200-299"']);
  t.same(problemsOf(withStatus('[]')), ['9:27: status must be a list such as [200] or ["200-299"]']);
});

t.test('body rules', async (t) => {
  const withBody = (b: string) => withLine(8, `        path: /\n        expect:\n          body: ${b}`);
  t.same(problemsOf(withBody('{ regex: "(unclosed" }')), [
    '10:26: regex does not compile: Invalid regular expression: /(unclosed/: Unterminated group',
  ]);
  t.same(problemsOf(withBody('{ regex: "^ok\\\\b" }')), []);
  t.same(problemsOf(withBody('{ json: { path: status } }')), ['10:19: missing required key "equals" in json']);
  t.same(problemsOf(withBody('{ json: { path: a..b, equals: 1 } }')), [
    '10:33: path: a JSON path is dotted keys/indexes such as a.b.0.c (got "a..b")',
  ]);
  t.same(problemsOf(withBody('{ nonempty: true }')), ['10:19: unknown key "nonempty"; did you mean "non_empty"?']);
});

t.test('command, tcp, idle-connection and dns check mistakes', async (t) => {
  const withCheck = (lines: string) => withLine(7, lines).replace('        path: /_info\n', '');
  t.same(problemsOf(withCheck('      - kind: command\n        argv: []')), [
    '8:15: argv must be a non-empty list of strings, program first',
  ]);
  t.same(problemsOf(withCheck('      - kind: command')), ['7:9: missing required key "argv" in checks[0]']);
  t.same(problemsOf(withCheck('      - kind: command\n        argv: [check_tcp, -H, "{address}", -p, "{prot}"]')), [
    '8:16: argv[0] must be an absolute path (commands run with an empty environment, so there is no PATH; got "check_tcp")',
    '8:48: unknown placeholder {prot}; use {host}, {address} or {port}',
  ]);
  t.same(problemsOf(withCheck('      - kind: command\n        argv: [/bin/true, ""]')), [
    '8:27: argv[1]: argv items must be non-empty strings (got "")',
  ]);
  t.same(problemsOf(withCheck('      - kind: command\n        argv: [/bin/true]\n        path: /')), [
    '9:9: unknown key "path" (allowed: kind, name, argv, timeout, interval, rise, fall)',
  ]);
  t.same(problemsOf(withCheck('      - kind: tcp\n        rise: 0')), ['8:15: rise: must be an integer of at least 1 (got 0)']);
  t.same(problemsOf(withCheck('      - kind: idle-connection\n        reconnect_timeout: 0s')), [
    '8:28: reconnect_timeout must be greater than 0 (got "0s")',
  ]);
  t.same(problemsOf(withCheck('      - kind: dns\n        query: en.wikipedia.org\n        type: AAAA\n        expect: [10.0.0.1]')), [
    '10:18: 10.0.0.1 cannot be in the answer to a type AAAA query',
  ]);
  t.same(problemsOf(withCheck('      - kind: htpp\n        path: /')), [
    '7:15: kind: must be one of http, tcp, idle-connection, command, dns (got "htpp"); did you mean "http"?',
  ]);
  t.same(problemsOf(withCheck('      - path: /')), ['7:9: missing required key "kind" in checks[0]']);
  t.same(problemsOf(withLine(6, '    checks: []').replace('      - kind: http\n        path: /_info\n', '')), [
    '6:13: checks must be a list with at least one check (a server is up only if every check is up)',
  ]);
});

t.test('check names must be unique within a service', async (t) => {
  const two = (a: string, b: string) => withLine(8, `        path: /\n${a}\n      - kind: http\n        path: /x\n${b}`);
  t.same(problemsOf(two('        name: probe', '        name: probe')), [
    '12:15: check name "probe" is already used by the check at line 7',
  ]);
  // A name equal to another check's default name.
  t.same(problemsOf(withLine(8, '        path: /\n      - kind: tcp\n        name: http')), [
    '10:15: check name "http" is already used by the check at line 7',
  ]);
  t.same(problemsOf(two('        name: http-2', '')), [
    '9:15: check name "http-2" collides with the default name of check 2 (line 10); pick another',
  ]);
});

t.test('tagged values JSON cannot carry are rejected', async (t) => {
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: { weight: !!binary aGVsbG8= }')), [
    // Reported at the tagged value itself.
    '10:47: weight must be a whole number from 0 to 65535',
    '10:47: weight: not a plain YAML map, list or scalar (tagged value?)',
  ]);
});

t.test('every problem of a file is reported, in order', async (t) => {
  const text = yaml`
dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.318, port: 8080, protocol: sctp }
    depool_threshold: 2
    checks:
      - kind: http
        path: /_info
        timeout: 5
        expect: { status: ["299-200"], body: { regex: "[" } }
    servers:
      sca1001.eqiad.wmnet: { weight: -10 }
      sca1001.eqiad.wmnet: { weight: 10 }
  parsoid:
    cluster: parsoid
    lvs: { ip: 10.2.2.28, port: 8000 }
    checks:
      - kind: command
        argv: []
    servers: {}
`;
  t.same(problemsOf(text), [
    '5:16: ip: must be an IPv4 or IPv6 address such as 10.2.2.18 (got "10.2.2.318")',
    '5:50: protocol: must be one of tcp, udp (got "sctp")',
    '6:23: depool_threshold must be a number from 0 to 1 (the fraction of servers that must stay pooled) (got 2)',
    '10:18: timeout: a duration is a string with units, such as 5s, 250ms or 1m30s (got 5)',
    '11:28: status range "299-200" is backwards; write "200-299"',
    '11:55: regex does not compile: Invalid regular expression: /[/: Unterminated character class',
    '13:38: weight must be a whole number from 0 to 65535 (got -10)',
    '14:7: duplicate key "sca1001.eqiad.wmnet"',
    '20:15: argv must be a non-empty list of strings, program first',
    '21:14: servers must be a map of host name to {weight, address?}, with at least one server',
  ]);
});

t.test('a service with problems is left out; valid services in the same file still load', async (t) => {
  const text = VALID + yaml`
  parsoid:
    cluster: parsoid
    lvs: { ip: 10.2.2.28, port: 0 }
    checks: [{ kind: tcp }]
    servers: { wtp1001.eqiad.wmnet: { weight: 1 } }
`;
  const r = parsePoolsText(text, FILE);
  t.same(r.problems.map((p) => `${p.line}:${p.col}`), ['14:33']);
  t.same(r.services.map((s) => s.catalog), ['cxserver']);
});

t.test('wrong shapes for whole sections say what shape is expected', async (t) => {
  t.same(problemsOf(withLine(5, '    lvs: 10.2.2.18:8080')), [
    '5:10: lvs must be a map such as { ip: 10.2.2.18, port: 8080 } (got "10.2.2.18:8080")',
  ]);
  t.same(problemsOf(withLine(10, '      sca1001.eqiad.wmnet: 10')), [
    '10:28: sca1001.eqiad.wmnet: a server must be a map such as { weight: 10, address: 10.64.0.1 } (got 10)',
  ]);
  t.same(problemsOf(withLine(8, '        path: /_info\n      - http')), [
    '9:9: checks[1]: a check must be a map with a kind, such as { kind: http, path: / } (got "http")',
  ]);
  t.same(problemsOf('dc: eqiad\nservices:\n  cxserver:\n'), [
    '3:3: cxserver: a service must be a map with pool (or cluster and servers), lvs and checks (got null)',
  ]);
});

t.test('CRLF files report the same positions as LF files', async (t) => {
  const lf = withLine(10, '      sca1001.eqiad.wmnet: { weight: -1 }');
  t.same(problemsOf(lf.replace(/\n/g, '\r\n')), problemsOf(lf));
  t.same(problemsOf(lf), ['10:38: weight must be a whole number from 0 to 65535 (got -1)']);
});

t.test('lvs.bgp and lvs.drain (issue 15): typed, located', async (t) => {
  const probs = problemsOf(withLine(5, '    lvs: { ip: 10.2.2.18, port: 8080, bgp: maybe, drain: soon }'));
  t.equal(probs.length, 2, probs.join('\n'));
  t.match(probs.join('\n'), /5:\d+: .*bgp.*boolean/);
  t.match(probs.join('\n'), /5:\d+: .*a duration is a string with units/);
  const ok = parsePoolsText(withLine(5, '    lvs: { ip: 10.2.2.18, port: 8080, method: i, bgp: false, drain: 0s }'), FILE);
  t.same(ok.problems, []);
  t.same(ok.services[0]!.lvs, { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'i', bgp: false }, 'drain 0s is off');
});

/** The newer form: a conftool pool under pools:, and an LVS service naming it. Line numbers are kept below. */
const POOLED = yaml`
dc: eqiad
pools:
  sca/cxserver:
    servers:
      sca1001.eqiad.wmnet: { weight: 10 }
services:
  cxserver:
    pool: sca/cxserver
    lvs: { ip: 10.2.2.18, port: 8080 }
    checks: [{ kind: tcp }]
`;

function pooledWithLine(n: number, text: string): string {
  const lines = POOLED.split('\n');
  lines[n - 1] = text;
  return lines.join('\n');
}

/** Problems of several files as "file:line:col: message", and the LVS services that still load. */
function across(...files: Array<[string, string]>): { problems: string[]; services: string[] } {
  const r = loadPoolsFromTexts(files.map(([file, text]) => ({ file, text })));
  return { problems: r.problems.map(formatProblem), services: r.services.map((s) => `${s.dc}/${s.name}`) };
}

t.test('pools: the newer form loads, and the pool supplies the servers', async (t) => {
  const r = parsePoolsText(POOLED, FILE);
  t.same(r.problems, []);
  t.same(r.services.map((s) => [s.dc, s.name, s.catalog, s.pool, Object.keys(s.servers)]), [
    ['eqiad', 'cxserver_8080', 'cxserver', { cluster: 'sca', service: 'cxserver' }, ['sca1001.eqiad.wmnet']],
  ]);
});

t.test('a service with neither pool nor cluster and servers', async (t) => {
  const text = pooledWithLine(8, '    scheduler: wrr'); // drops pool:, adds nothing in its place
  t.same(problemsOf(text.replace('    scheduler: wrr\n', '')), [
    '7:3: a service needs pool: <cluster>/<service> (an entry of pools:), or cluster and servers',
  ]);
  t.same(parsePoolsText(text.replace('    scheduler: wrr\n', ''), FILE).services, [], 'the service is left out');
  // servers alone (no cluster, no pool) is still neither.
  t.same(problemsOf(pooledWithLine(8, '    servers: { sca1001.eqiad.wmnet: { weight: 10 } }')), [
    '7:3: a service needs pool: <cluster>/<service> (an entry of pools:), or cluster and servers',
  ]);
});

t.test('pool: naming a pool that is not defined', async (t) => {
  t.same(problemsOf(pooledWithLine(8, '    pool: sca/citoid')), [
    '8:11: pool sca/citoid is not defined under pools: of dc eqiad',
  ]);
  t.same(parsePoolsText(pooledWithLine(8, '    pool: sca/citoid'), FILE).services, []);
  // A pool in another dc's file does not count: pools are per dc.
  const codfw = POOLED.replace('dc: eqiad', 'dc: codfw').replace('sca1001.eqiad.wmnet', 'sca2001.codfw.wmnet').replace('10.2.2.18', '10.2.1.18');
  const other = across(['pools/codfw.yaml', codfw], ['pools/eqiad.yaml', POOLED.replace(/pools:\n(?: .*\n)+/, '')]);
  t.same(other.problems, ['pools/eqiad.yaml:4:11: pool sca/cxserver is not defined under pools: of dc eqiad']);
  t.same(other.services, ['codfw/cxserver_8080']);
});

t.test('a pool defined twice', async (t) => {
  // In two files of one dc: rejected at the second definition; the first is kept and serves its services.
  const second = yaml`
dc: eqiad
pools:
  sca/cxserver:
    servers:
      sca1002.eqiad.wmnet: { weight: 10 }
services:
  citoid:
    pool: sca/cxserver
    lvs: { ip: 10.2.2.19, port: 1970 }
    checks: [{ kind: tcp }]
`;
  const r = loadPoolsFromTexts([
    { file: 'pools/a.yaml', text: POOLED },
    { file: 'pools/b.yaml', text: second },
  ]);
  t.same(r.problems.map(formatProblem), ['pools/b.yaml:3:3: pool eqiad/sca/cxserver is already defined at pools/a.yaml:3:3']);
  t.same(
    r.services.map((s) => [s.name, Object.keys(s.servers)]),
    [
      ['cxserver_8080', ['sca1001.eqiad.wmnet']],
      ['citoid_1970', ['sca1001.eqiad.wmnet']],
    ],
    'both services use the first definition',
  );
  // In one file: under pools: and again by an older-form service (cluster + servers) of the same name.
  const oneFile = yaml`
dc: eqiad
pools:
  sca/cxserver:
    servers:
      sca1001.eqiad.wmnet: { weight: 10 }
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 8080 }
    checks: [{ kind: tcp }]
    servers:
      sca1002.eqiad.wmnet: { weight: 10 }
`;
  t.same(problemsOf(oneFile), ['7:3: pool eqiad/sca/cxserver is already defined at pools/test.yaml:3:3']);
});

t.test('pool and servers (or cluster) both given', async (t) => {
  t.same(problemsOf(pooledWithLine(10, '    checks: [{ kind: tcp }]\n    servers: { sca1002.eqiad.wmnet: { weight: 10 } }')), [
    '11:5: servers belongs under pools: when the service names a pool; remove it here',
  ]);
  t.same(problemsOf(pooledWithLine(10, '    checks: [{ kind: tcp }]\n    cluster: sca')), [
    '11:5: cluster belongs under pools: when the service names a pool; remove it here',
  ]);
  t.same(parsePoolsText(pooledWithLine(10, '    checks: [{ kind: tcp }]\n    cluster: sca'), FILE).services, [], 'the service is left out');
});

t.test('a host in two dcs', async (t) => {
  const codfw = POOLED.replace('dc: eqiad', 'dc: codfw').replace('10.2.2.18', '10.2.1.18');
  const r = across(['pools/eqiad.yaml', POOLED], ['pools/codfw.yaml', codfw]);
  t.same(r.problems, [
    'pools/codfw.yaml:5:7: host sca1001.eqiad.wmnet is already a server in dc eqiad (pools/eqiad.yaml:5:7); a host lives in one dc',
  ]);
  t.same(r.services, ['eqiad/cxserver_8080'], 'the codfw pool is rejected, and so is its service (without a second message)');
  // The same host in two pools of one dc is fine (one host serves several pools).
  const twoPools = POOLED.replace('services:', '  sca/citoid:\n    servers:\n      sca1001.eqiad.wmnet: { weight: 5 }\nservices:');
  t.same(problemsOf(twoPools), []);
});

t.test('an LVS service (section) name is unique per dc', async (t) => {
  // cxserver on 8080 and cxserver_8080 written out in full are the same PyBal section.
  const text = POOLED + '  cxserver_8080:\n    pool: sca/cxserver\n    lvs: { ip: 10.2.2.20, port: 8080 }\n    checks: [{ kind: tcp }]\n';
  t.same(problemsOf(text), [
    '11:3: LVS service eqiad/cxserver_8080 (PyBal section cxserver_8080) is already defined at pools/test.yaml:7:3',
  ]);
});

t.test('lvs.bgp_med (PyBal\'s bgp-med): a whole number 0..2^32-1, located; absent stays absent', async (t) => {
  for (const bad of ['-1', '4294967296', '1.5', 'ten', '"10"']) {
    t.same(problemsOf(withLine(5, `    lvs: { ip: 10.2.2.18, port: 8080, bgp_med: ${bad} }`)), [
      `5:48: bgp_med must be a whole number from 0 to 4294967295 (a BGP MED) (got ${bad === 'ten' || bad === '"10"' ? `"${bad.replace(/"/g, '')}"` : bad})`,
    ], `bgp_med: ${bad}`);
  }
  for (const med of [0, 10, 4294967295]) {
    const ok = parsePoolsText(withLine(5, `    lvs: { ip: 10.2.2.18, port: 8080, bgp_med: ${med} }`), FILE);
    t.same(ok.problems, []);
    t.same(ok.services[0]!.lvs, { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g', bgpMed: med }, `bgp_med: ${med}`);
  }
  t.equal(parsePoolsText(VALID, FILE).services[0]!.lvs.bgpMed, undefined, 'absent: the agent\'s --bgp-med');
});

/** Two services of dc eqiad on one VIP (and one pool), with the given lvs extras. */
const twoOnOneVip = (a: string, b: string, ipB = '10.2.2.18') => yaml`
dc: eqiad
pools:
  sca/cxserver:
    servers:
      sca1001.eqiad.wmnet: { weight: 10 }
services:
  cxserver:
    pool: sca/cxserver
    lvs: { ip: 10.2.2.18, port: 8080${a} }
    checks: [{ kind: tcp }]
  cxserver-https:
    pool: sca/cxserver
    lvs: { ip: ${ipB}, port: 4443${b} }
    checks: [{ kind: tcp }]
`;

t.test('one MED per VIP: two services on one VIP with different bgp_med are refused, naming both, the VIP and both values', async (t) => {
  t.same(problemsOf(twoOnOneVip(', bgp_med: 10', ', bgp_med: 20')), [
    '13:48: LVS services eqiad/cxserver-https_4443 (bgp_med 20) and eqiad/cxserver_8080 (bgp_med 10, pools/test.yaml:9:48) announce VIP 10.2.2.18 with different MEDs: ' +
      'a VIP is one BGP route, so every service on it must have the same bgp_med (PyBal refuses this too)',
  ]);
  // Set on one, absent on the other: the absent one takes each LVS host's --bgp-med, which differs between hosts.
  t.match(problemsOf(twoOnOneVip(', bgp_med: 10', '')), [/^13:16: LVS services eqiad\/cxserver-https_4443 \(no bgp_med \(the LVS agent's --bgp-med\)\) and eqiad\/cxserver_8080 \(bgp_med 10, pools\/test.yaml:9:48\) announce VIP 10\.2\.2\.18 with different MEDs/]);
  // IPv6 written two ways is one VIP.
  t.match(problemsOf(twoOnOneVip(', bgp_med: 10', ', bgp_med: 0', '2620:0:861:ed1a:0:0:0:1').replace('ip: 10.2.2.18', 'ip: 2620:0:861:ed1a::1')), [/announce VIP 2620:0:861:ed1a::1 with different MEDs/]);
  // What is accepted: the same MED, none at all, different VIPs, or the other service not announced.
  t.same(problemsOf(twoOnOneVip(', bgp_med: 10', ', bgp_med: 10')), []);
  t.same(problemsOf(twoOnOneVip('', '')), []);
  t.same(problemsOf(twoOnOneVip(', bgp_med: 10', ', bgp_med: 20', '10.2.2.19')), []);
  t.same(problemsOf(twoOnOneVip(', bgp_med: 10', ', bgp: false')), []);
});

t.test('one MED per VIP spans files of one dc, not datacenters', async (t) => {
  const file = (dc: string, svc: string, med: number) => yaml`
dc: ${dc}
services:
  ${svc}:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 8080, bgp_med: ${med} }
    checks: [{ kind: tcp }]
    servers: { ${svc}1001.${dc}.wmnet: { weight: 10 } }
`;
  const r = loadPoolsFromTexts([{ file: 'pools/a.yaml', text: file('eqiad', 'a', 10) }, { file: 'pools/b.yaml', text: file('eqiad', 'b', 20) }]);
  t.same(r.problems.map(formatProblem), [
    'pools/b.yaml:5:48: LVS services eqiad/b_8080 (bgp_med 20) and eqiad/a_8080 (bgp_med 10, pools/a.yaml:5:48) announce VIP 10.2.2.18 with different MEDs: ' +
      'a VIP is one BGP route, so every service on it must have the same bgp_med (PyBal refuses this too)',
  ]);
  t.same(loadPoolsFromTexts([{ file: 'pools/a.yaml', text: file('eqiad', 'a', 10) }, { file: 'pools/b.yaml', text: file('codfw', 'b', 20) }]).problems, [], 'another dc is another set of LVS hosts');
});
