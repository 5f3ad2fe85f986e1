// Icinga 2 really runs the generated check commands with the right argv. The command path points at
// /bin/echo, so the plugin output Icinga records is the exact argument list poolctl would receive.
import t from 'tap';
import { renderIcinga2 } from '../../src/monitoring/icinga2.js';
import { cxserver } from './fixtures.js';
import { startIcingaApi } from './icinga-api.js';

t.test('icinga2 executes poold-check and poold-alerts with the expected arguments', async (t) => {
  // Loopback only: VIP, backends and poold all on 127.0.0.0/8 (the host checks ping them).
  const svc = cxserver({
    lvs: { ip: '127.0.0.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    servers: { 'sca1001.eqiad.wmnet': { weight: 10, address: '127.0.0.11' }, 'sca1002.eqiad.wmnet': { weight: 10, address: '127.0.0.12' } },
  });
  const objects = renderIcinga2([svc], { pooldUrl: 'http://127.0.0.1:9', poolctlPath: '/bin/echo', checkIntervalS: 1, retryIntervalS: 1 });
  const api = await startIcingaApi(`${objects}\nobject CheckerComponent "checker" { }\n`);
  t.teardown(() => api.stop());

  type Svc = { attrs: { host_name: string; name: string; last_check_result: { output: string; command: string[] } | null } };
  let results: Svc[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = (await api.get('/v1/objects/services?attrs=host_name&attrs=name&attrs=last_check_result')) as { body: { results: Svc[] } };
    results = r.body.results;
    if (results.length === 4 && results.every((s) => s.attrs.last_check_result)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  const byKey = Object.fromEntries(results.map((s) => [`${s.attrs.host_name}!${s.attrs.name}`, s.attrs.last_check_result?.command]));
  t.same(byKey, {
    'sca1001.eqiad.wmnet!poold eqiad/cxserver': ['/bin/echo', 'check', 'eqiad/cxserver', 'sca1001.eqiad.wmnet', '--nagios'],
    'sca1002.eqiad.wmnet!poold eqiad/cxserver': ['/bin/echo', 'check', 'eqiad/cxserver', 'sca1002.eqiad.wmnet', '--nagios'],
    'lvs-eqiad-cxserver!pool eqiad/cxserver': ['/bin/echo', 'alerts', '--nagios', '--url', 'http://127.0.0.1:9/alerts', '--pool', 'cxserver'],
    // The dc-wide service sets no pool, and Icinga leaves the --pool argument out.
    'poold-eqiad!poold alerts': ['/bin/echo', 'alerts', '--nagios', '--url', 'http://127.0.0.1:9/alerts'],
  });
});
