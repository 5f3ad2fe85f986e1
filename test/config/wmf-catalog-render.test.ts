// The test helper renders Wikimedia's pybal.conf from the real catalog as puppet does; these figures are
// what the import, drift and bench tests build on, so they are pinned here.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parsePybalConf } from '../../src/config/pybal-parse.js';
import { catalogCounts, renderRealPybalConf, wmfFiles } from '../helpers/wmf-catalog.js';

const catalogText = readFileSync(wmfFiles().catalog, 'utf8');

t.test('eqiad: the services, sections and monitors puppet puts in pybal.conf', async (t) => {
  const c = catalogCounts(catalogText, 'eqiad');
  // With YAML merge keys applied, as hiera (Ruby's Psych) applies them.
  t.equal(c.services, 100);
  t.equal(c.sections, 116);
  t.equal(c.sectionsByPool['kubernetes/kubesvc'], 44);
  t.equal(c.servicesByMonitor.IdleConnection, 98);
  t.equal(c.servicesByMonitor.ProxyFetch, 40);
  t.equal(c.sectionsByMonitor.ProxyFetch, 52);
  // ../shared/wmf/README.md says 99 services, 115 sections and 97 IdleConnection: that is the catalog read
  // without merge keys (YAML 1.2 defaults), where prometheus-https (`<<: *prometheus_default`) has no sites
  // and no ip, so it drops out; its 40 ProxyFetch is the merged count. Both readings are pinned so a change
  // in either shows here.
  const naive = catalogCounts(catalogText, 'eqiad', { mergeKeys: false });
  t.same([naive.services, naive.sections, naive.sectionsByPool['kubernetes/kubesvc'], naive.servicesByMonitor.IdleConnection, naive.servicesByMonitor.ProxyFetch], [99, 115, 44, 97, 39]);
});

t.test('the rendered eqiad and codfw pybal.conf parse as PyBal reads them, one section per VIP', async (t) => {
  for (const [dc, sections, kube] of [['eqiad', 116, 44], ['codfw', 100, 44]] as const) {
    const text = renderRealPybalConf(dc);
    const conf = parsePybalConf(text, `${dc}.conf`);
    t.equal(conf.services.length, sections, `${dc} sections`);
    t.equal(conf.warnings.length, 0, `${dc}: no duplicate options`);
    t.equal(conf.services.filter((s) => s.config.endsWith(`/conftool/v1/pools/${dc}/kubernetes/kubesvc/`)).length, kube);
    t.ok(conf.global?.options.has('bgp'), `${dc}: the [global] section`);
    // Every section says ops = false and tunneling as the template does.
    t.ok(conf.services.every((s) => s.section.options.get('ops')?.value === 'false' && s.section.options.has('tunneling')));
  }
  const eqiad = parsePybalConf(renderRealPybalConf('eqiad'), 'eqiad.conf');
  const text = eqiad.services.filter((s) => /^(text|test)lb6?_(80|443)$/.test(s.name)).map((s) => s.name).sort();
  t.same(text, ['testlb6_443', 'testlb6_80', 'testlb_443', 'testlb_80', 'textlb6_443', 'textlb6_80', 'textlb_443', 'textlb_80']);
  const cx = eqiad.services.find((s) => s.name === 'cxserver_4002')!;
  t.match(cx, { ip: '10.2.2.18', port: 4002, scheduler: 'wrr', depoolThreshold: 0.5, monitors: ['IdleConnection'], tunneling: false, config: 'etcd://conf1007.eqiad.wmnet:4001/conftool/v1/pools/eqiad/kubernetes/kubesvc/' });
  // %{::site} is replaced in values (prometheus-https's ProxyFetch URL).
  t.same(eqiad.services.find((s) => s.name === 'prometheus-https_443')?.proxyfetch?.urls, ['https://prometheus-eqiad.wikimedia.org/']);
  // ipip_encapsulation for the site → tunneling = true.
  t.equal(eqiad.services.find((s) => s.name === 'textlb_443')?.tunneling, true);
});
