// /metrics: values derived from what the daemon fed the view, linted by the real promtool.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { PoolMetrics } from '../../src/api/metrics.js';
import { buildApi } from '../../src/api/server.js';
import { CX, cxState, cxView, result } from './fixtures.js';

const PROMTOOL = '/usr/bin/promtool';

function promtoolLint(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * The value of one sample, or undefined. `series` is written `name{a="1",b="2"}`; label order does
 * not matter (prom-client puts `le` first).
 */
function sample(text: string, series: string): number | undefined {
  const key = (s: string) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(s);
    if (!m) throw new Error(`bad series ${s}`);
    const labels = (m[2] ?? '').match(/[a-zA-Z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
    return `${m[1]}{${labels.sort().join(',')}}`;
  };
  const want = key(series);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (key(line.slice(0, cut)) === want) return Number(line.slice(cut + 1));
  }
  return undefined;
}

const L = 'dc="eqiad",service="cxserver"';

t.test('promtool check metrics accepts /metrics with no lint problems', async (t) => {
  const metrics = new PoolMetrics();
  const view = cxView({ metrics });
  view.setLeadership({ leader: true, leaderId: 'me' });
  view.setStale(CX, true, 1);
  metrics.setEtcdWatchLag(0.004);
  const app = buildApi({ view, metrics });
  t.teardown(() => app.close());
  const r = await app.inject({ url: '/metrics' });
  t.equal(r.statusCode, 200);
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const lint = promtoolLint(r.body);
  t.equal(lint.output, '', 'promtool reports nothing');
  t.equal(lint.status, 0, 'promtool exits 0');
  // The check is real: promtool does flag a badly named counter.
  const broken = promtoolLint('# HELP poold_bad a counter without _total\n# TYPE poold_bad counter\npoold_bad 1\n');
  t.match(broken.output, /counter metrics should have "_total" suffix/);
  t.not(broken.status, 0);
});

t.test('metric values follow the view', async (t) => {
  const metrics = new PoolMetrics({ processMetrics: false });
  const view = cxView({ metrics });
  const app = buildApi({ view, metrics });
  t.teardown(() => app.close());
  const scrape = async () => (await app.inject({ url: '/metrics' })).body;

  let text = await scrape();
  const count = (state: string) => sample(text, `poold_servers{${L},state="${state}"}`);
  t.same(
    ['total', 'enabled', 'up', 'pooled', 'pooled_down', 'inactive'].map(count),
    [4, 3, 2, 2, 1, 1],
  );
  t.equal(sample(text, `poold_could_not_depool_total{${L}}`), 1, 'sca1003 newly kept pooled while down');
  // The fixture fed 8 verdicts: 5 ok, 2 refused, 1 status.
  t.equal(sample(text, `poold_checks_total{${L},check="tcp",code="ok"}`), 3);
  t.equal(sample(text, `poold_checks_total{${L},check="info",code="status"}`), 1);
  t.equal(sample(text, `poold_check_duration_seconds_count{${L},check="info"}`), 4);
  t.equal(sample(text, `poold_check_duration_seconds_bucket{${L},check="info",le="0.005"}`), 2, 'the 3 ms and 5 ms checks');
  t.equal(sample(text, `poold_check_duration_seconds_bucket{${L},check="info",le="0.025"}`), 4);
  t.equal(sample(text, 'poold_leader'), 0);
  t.equal(sample(text, `poold_pool_state_stale{${L}}`), 0);

  view.setVerdict({ ...CX, host: 'sca1001.eqiad.wmnet' }, 'tcp', result(true, { timings: { totalMs: 2500 } }), 9);
  view.setState(cxState(2, { 'sca1004.eqiad.wmnet': { up: true, pooled: true, reason: 'ok' }, 'sca1001.eqiad.wmnet': { up: false } }));
  view.setLeadership({ leader: true, leaderId: 'me' });
  view.setStale(CX, true, 5);
  metrics.setEtcdWatchLag(0.25);
  text = await scrape();
  t.equal(sample(text, `poold_check_duration_seconds_bucket{${L},check="tcp",le="2.5"}`), 5);
  t.equal(sample(text, `poold_check_duration_seconds_bucket{${L},check="tcp",le="1"}`), 4);
  t.equal(sample(text, `poold_transitions_total{${L},transition="up"}`), 1);
  t.equal(sample(text, `poold_transitions_total{${L},transition="down"}`), 1);
  t.equal(sample(text, `poold_transitions_total{${L},transition="pooled"}`), 1);
  t.equal(sample(text, `poold_could_not_depool_total{${L}}`), 2, 'sca1001 now kept pooled while down too');
  t.equal(sample(text, 'poold_leader'), 1);
  t.equal(sample(text, `poold_pool_state_stale{${L}}`), 1);
  t.equal(sample(text, 'poold_etcd_watch_lag_seconds'), 0.25);

  view.removeService(CX);
  text = await scrape();
  t.equal(count('total'), undefined, 'a removed pool leaves no series behind');
  t.equal(promtoolLint(text).output, '');
});
