// The dashboard marks admin depools held by the threshold and forced ones (src/model/coordinator-hold.ts),
// with their writers, in chromium against the real API server fed through PoolView's setters.
import t from 'tap';
import { chromium } from 'playwright-core';
import { startApi } from '../../src/api/server.js';
import { cxState, cxView } from '../api/fixtures.js';

const view = cxView();
view.setState(cxState(2, {
  'sca1001.eqiad.wmnet': { adminHold: { status: 'held', requested: 'no', revision: 41, since: 1, writer: null } },
  'sca1004.eqiad.wmnet': { pooledAdmin: 'no', enabled: false, adminHold: { status: 'forced', requested: 'no', revision: 42, since: 1, writer: { actor: 'alice' } } },
}));
const api = await startApi({ view, host: '127.0.0.1', port: 0 });
t.teardown(() => api.close());
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
t.teardown(() => browser.close());

t.test('held and forced admin depools are marked, with their writers', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  t.teardown(() => page.close());
  await page.goto(`http://127.0.0.1:${api.port}/`);
  const marks = (host: string) => page.locator(`#hosts tr[data-host="${host}"] td.marks`);
  await marks('sca1001.eqiad.wmnet').waitFor();
  t.match(await marks('sca1001.eqiad.wmnet').innerText(), /admin depool held/);
  t.match(await marks('sca1001.eqiad.wmnet').locator('[title]').first().getAttribute('title'), /conftool says no \(by unknown writer\)/);
  t.match(await marks('sca1004.eqiad.wmnet').innerText(), /forced depool/);
  t.notMatch(await marks('sca1002.eqiad.wmnet').innerText(), /held|forced/);
  // /alerts says the same in words.
  const alerts = await (await fetch(`http://127.0.0.1:${api.port}/alerts`)).text();
  t.match(alerts, /^CRITICAL - .*cxserver: admin depool held by threshold: sca1001\.eqiad\.wmnet \(by unknown writer\)/);
  // And the metrics count them.
  const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
  t.match(metrics, /poold_admin_depools_held\{dc="eqiad",service="cxserver"\} 1/);
  t.match(metrics, /poold_admin_depools_forced\{dc="eqiad",service="cxserver"\} 1/);
});
