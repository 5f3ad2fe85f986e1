// The Prometheus rules and the Grafana dashboard the Debian package ships (debian/contrib/): the
// rules pass `promtool check rules` and their promtool unit tests, and every metric and label the
// rules and the dashboard use is one poold's /metrics or the LVS agent's /metrics really exports
// (the same registries those routes render, fed one of everything they count).
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PoolMetrics, SERVER_STATES } from '../../src/api/metrics.js';
import { AgentMetrics } from '../../src/lvs/agent-metrics.js';
import { WatchMetrics } from '../../src/api/watch-metrics.js';
import { EtcdMetrics } from '../../src/api/etcd-metrics.js';
import { ROOT } from '../helpers/poolctl.js';
import { labelValuesRefs, promqlRefs, type PromqlRefs } from './promql-refs.js';

const RULES = join(ROOT, 'debian/contrib/prometheus/poold.rules.yml');
const RULE_TESTS = join(ROOT, 'debian/contrib/prometheus/poold.rules.test.yml');
const DASHBOARD = join(ROOT, 'debian/contrib/grafana/poold-dashboard.json');

/** Labels Prometheus itself attaches to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];
/** Prometheus' own per-target series; the rules alert on a dead target with it. */
const SCRAPE_SERIES: Record<string, string[]> = { up: [] };

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr });
    });
  });
}

/** Series name → label names, from exposition text. */
function exported(text: string, into: Map<string, Set<string>>): void {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels = into.get(m[1]) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(l[1]);
    into.set(m[1], labels);
  }
}

async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const series = new Map<string, Set<string>>();
  const key = { dc: 'eqiad', name: 'cxserver_8080' };
  const pool = new PoolMetrics();
  pool.bindSource({
    metricPools: () => [{ key, counts: Object.fromEntries(SERVER_STATES.map((s) => [s, 1])) as Record<(typeof SERVER_STATES)[number], number>, stale: false }],
    isLeader: () => true,
  });
  pool.recordCheck(key, 'http', { up: false, code: 'refused', message: 'refused', timings: { totalMs: 3 }, findings: [] });
  pool.recordTransition(key, 'down');
  pool.recordCouldNotDepool(key);
  pool.setEtcdWatchLag(0.01);
  // The daemon registers its watch metrics on the same registry (daemon/watch-guard.ts).
  new WatchMetrics(pool.registry).set('admin', true, 1, 1);
  // And its etcd space and compaction metrics (daemon/etcd-space.ts, daemon/etcd-compaction.ts).
  new EtcdMetrics(pool.registry).nospace.set(0);
  exported((await pool.render()).body, series);

  const agent = new AgentMetrics({ host: 'lvs1001', source: 'etcd', dryRun: false });
  agent.observe({
    startedAt: 1000, at: 1010, reason: 'start', result: 'applied', commands: ['-a -t 10.2.2.18:8080 -r 10.64.0.1:8080 -g -w 10'], durationMs: 10,
    services: [{ service: 'eqiad/sca/cxserver', vs: 'tcp 10.2.2.18:8080', realServers: 1, revision: 7 }, { service: 'eqiad/sca/gone', skipped: 'no definition' }],
  });
  exported(await agent.registry.metrics(), series);
  return series;
}

function rulesExprs(): { alert: string; expr: string }[] {
  const doc = parseYaml(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert ?? r.record ?? '?', expr: String(r.expr) })));
}

interface Panel { id: number; title: string; targets?: { expr: string }[]; panels?: Panel[]; datasource?: { uid: string } }
interface Dashboard { uid: string; panels: Panel[]; templating: { list: { name: string; type: string; query: string | { query: string } }[] } }

function dashboardPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Problems with one expression's references, against the exported series. */
function problems(where: string, refs: PromqlRefs, series: Map<string, Set<string>>): string[] {
  const out: string[] = [];
  const allLabels = new Set<string>(TARGET_LABELS);
  for (const m of refs.metrics) {
    const labels = series.get(m.name) ?? (m.name in SCRAPE_SERIES ? new Set(SCRAPE_SERIES[m.name]) : undefined);
    if (labels === undefined) {
      out.push(`${where}: metric ${m.name} is not exported`);
      continue;
    }
    for (const l of labels) allLabels.add(l);
    for (const l of m.labels) {
      if (!labels.has(l) && !TARGET_LABELS.includes(l)) out.push(`${where}: ${m.name} has no label ${l} (it has: ${[...labels].join(', ') || 'none'})`);
    }
  }
  if (refs.metrics.length === 0) out.push(`${where}: no metric at all`);
  for (const l of refs.groupingLabels) {
    if (!allLabels.has(l)) out.push(`${where}: grouping label ${l} is on none of its metrics`);
  }
  return out;
}

t.test('promtool accepts the rules and their unit tests pass', async (t) => {
  const check = await run('promtool', ['check', 'rules', RULES]);
  t.equal(check.code, 0, check.out);
  t.match(check.out, /SUCCESS: \d+ rules found/);
  const unit = await run('promtool', ['test', 'rules', RULE_TESTS]);
  t.equal(unit.code, 0, unit.out);
  t.match(unit.out, /SUCCESS/);
});

t.test('the reference scanner finds metrics, matchers and grouping labels', async (t) => {
  const r = promqlRefs('histogram_quantile(0.99, sum by (le, dc) (rate(poold_check_duration_seconds_bucket{dc=~"$dc",code!="ok"}[$__rate_interval]))) > 1e3 and ignoring(state) poold_servers');
  t.same(r.metrics, [{ name: 'poold_check_duration_seconds_bucket', labels: ['dc', 'code'] }, { name: 'poold_servers', labels: [] }]);
  t.same(r.groupingLabels, ['le', 'dc', 'state']);
  t.same(promqlRefs('sum without (instance) (poold_leader) < 1').metrics.map((m) => m.name), ['poold_leader']);
  t.same(labelValuesRefs('label_values(poold_servers{dc=~"$dc"}, cluster)').metrics, [{ name: 'poold_servers', labels: ['dc', 'cluster'] }]);
});

t.test('every metric and label the rules use is exported', async (t) => {
  const series = await exportedSeries();
  const rules = rulesExprs();
  t.ok(rules.length >= 15, `${rules.length} rules`);
  const found = rules.flatMap((r) => problems(`rule ${r.alert}`, promqlRefs(r.expr), series));
  t.same(found, [], 'no rule refers to a series poold or the agent does not export');
  // The rules cover both exporters' key series.
  const used = new Set(rules.flatMap((r) => promqlRefs(r.expr).metrics.map((m) => m.name)));
  for (const name of ['poold_servers', 'poold_pool_state_stale', 'poold_leader', 'poold_lvs_source_up', 'poold_lvs_last_success_timestamp_seconds']) {
    t.ok(used.has(name), `a rule watches ${name}`);
  }
  // The scanner would notice a metric the code does not export.
  t.same(problems('probe', promqlRefs('poold_servers_total{state="up"} > 0'), series), ['probe: metric poold_servers_total is not exported']);
  t.same(problems('probe', promqlRefs('poold_leader{dc="eqiad"} > 0'), series), ['probe: poold_leader has no label dc (it has: none)']);
});

t.test('every metric, label and variable the dashboard uses exists', async (t) => {
  const series = await exportedSeries();
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  t.equal(dash.uid, 'poold');
  const panels = dashboardPanels(dash);
  const ids = panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const targets = panels.flatMap((p) => (p.targets ?? []).map((x) => ({ where: `panel "${p.title}"`, expr: x.expr })));
  t.ok(targets.length >= 20, `${targets.length} queries`);
  const vars = dash.templating.list;
  const found = [
    ...targets.flatMap((x) => problems(x.where, promqlRefs(x.expr), series)),
    ...vars.filter((v) => v.type === 'query').flatMap((v) => problems(`variable $${v.name}`, labelValuesRefs(typeof v.query === 'string' ? v.query : v.query.query), series)),
  ];
  t.same(found, [], 'no panel or variable refers to a series poold or the agent does not export');
  // Every $variable a query uses is defined (Grafana's own $__ variables aside).
  const defined = new Set(vars.map((v) => v.name));
  const usedVars = new Set(targets.flatMap((x) => [...x.expr.matchAll(/\$(\w+)/g)].map((m) => m[1])).filter((v) => !v.startsWith('__')));
  t.same([...usedVars].filter((v) => !defined.has(v)), [], 'no undefined dashboard variable');
  t.same(panels.filter((p) => p.targets && p.datasource?.uid !== '${datasource}').map((p) => p.title), [], 'every panel reads the chosen data source');
});
