// The dashboard's warnings and marks, and its escaping, in chromium against the real API server fed
// through PoolView's setters (the daemon's own interface): states a live test cannot reach quickly
// (kept by threshold, flapping, drift, stale, a follower's leadership) and hostile text from the API.
// Also where the assets are read from, in src/ and dist/ layouts.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { chromium } from 'playwright-core';
import { startApi } from '../../src/api/server.js';
import { acceptsHtml, dashboardAssetDir } from '../../src/api/dashboard/routes-dashboard.js';
import { PooldError } from '../../src/model/errors.js';
import { CX, cxState, cxView } from '../api/fixtures.js';
import { ROOT } from '../helpers/poolctl.js';
import type { PageDocument, PageWindow } from './page-dom.js';

// Page-side callbacks run in chromium (see page-dom.ts).
declare const document: PageDocument;
declare const window: PageWindow;

const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
mkdirSync(ARTIFACTS, { recursive: true });
const SRC_DIR = join(ROOT, 'src', 'api', 'dashboard');

t.test('assets are read from src/api/dashboard whether the module runs from src/ or dist/', async (t) => {
  t.equal(dashboardAssetDir(pathToFileURL(join(SRC_DIR, 'routes-dashboard.ts')).href), SRC_DIR);
  t.equal(dashboardAssetDir(pathToFileURL(join(ROOT, 'dist', 'src', 'api', 'dashboard', 'routes-dashboard.js')).href), SRC_DIR);
  t.throws(() => dashboardAssetDir(pathToFileURL('/nonexistent/dist/src/api/dashboard/routes-dashboard.js').href), {
    constructor: PooldError,
    message: /dashboard assets not found: looked for index.html in \/nonexistent\/dist\/src\/api\/dashboard and \/nonexistent\/src\/api\/dashboard/,
  });
});

t.test('only requests that accept HTML get the page at /', async (t) => {
  t.equal(acceptsHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), true, 'chromium');
  t.equal(acceptsHtml('TEXT/HTML'), true);
  t.equal(acceptsHtml('*/*'), false, 'curl');
  t.equal(acceptsHtml(undefined), false);
  t.equal(acceptsHtml('application/json'), false);
  t.equal(acceptsHtml('text/html;q=0, text/plain'), false, 'explicitly refused');
  t.equal(acceptsHtml('text/plain, text/html;q=0.5'), true);
});

const HOSTILE_HOST = '<img src=x onerror="window.pwned=1">.eqiad.wmnet';
const HOSTILE_REASON = '<script>window.pwned=2</script> & "quoted" <b>not bold</b>';

const view = cxView();
view.setFlapping({ ...CX, host: 'sca1004.eqiad.wmnet' }, true);
view.setDrift(CX, [{ where: 'lvs-configs/eqiad.conf [cxserver]', message: 'ProxyFetch url is http://localhost/ but pools/ checks /_info' }]);
view.setLeadership({ leader: false, leaderId: 'lvs1002' });
const api = await startApi({ view, host: '127.0.0.1', port: 0 });
t.teardown(() => api.close());
const url = `http://127.0.0.1:${api.port}/`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
t.teardown(() => browser.close());

t.test('threshold, flapping, drift, stale and leadership are shown in words', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  t.teardown(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  const row = (host: string) => page.locator(`#hosts tr[data-host="${host}"]`);
  await row('sca1003.eqiad.wmnet').waitFor();

  t.match(await page.locator('#pools tr[data-pool="eqiad/cxserver"]').innerText(), /down but pooled/);
  t.equal(await row('sca1003.eqiad.wmnet').locator('td.health').innerText(), 'partially up');
  t.match(await row('sca1003.eqiad.wmnet').locator('td.marks').innerText(), /kept by threshold/);
  t.match(await row('sca1003.eqiad.wmnet').locator('td.verdict').innerText(), /fail info status[\s\S]*connect 1\.00 ms · first byte 4\.00 ms · total 5\.00 ms/);
  t.match(await row('sca1004.eqiad.wmnet').locator('td.marks').innerText(), /flapping/);
  t.match(await row('sca1002.eqiad.wmnet').locator('td.admin').innerText(), /depooled/);
  t.match(await row('sca1005.eqiad.wmnet').locator('td.admin').innerText(), /inactive/, 'decommissioned hosts are listed as such');
  t.match(await page.locator('#pools tr[data-pool="eqiad/cxserver"]').innerText(), /\b2\s+2\s+4\b/, 'pooled 2, up 2 (sca1001, sca1002), total 4 (inactive excluded)');
  const warnings = await page.locator('#warnings').innerText();
  t.match(warnings, /Critical\s+eqiad\/cxserver: drift in lvs-configs\/eqiad\.conf \[cxserver\]: ProxyFetch url/);
  t.match(warnings, /Warning\s+eqiad\/cxserver: flapping: sca1004\.eqiad\.wmnet/);
  t.match(warnings, /1 down host\(s\) kept pooled by the depool threshold/);
  t.equal(await page.locator('#leadership').innerText(), 'Leadership: follower; leader is lvs1002');

  // Stale arrives as an event: the warning appears without a reload.
  view.setStale(CX, true, Date.now() - 5000);
  await page.locator('#warnings li', { hasText: 'state is stale' }).waitFor({ timeout: 2000 });
  t.match(await page.locator('#pools tr[data-pool="eqiad/cxserver"]').innerText(), /stale/);
  await page.locator('#timeline li.ev-stale').first().waitFor({ timeout: 1000 });
  await page.screenshot({ path: join(ARTIFACTS, 'marks-1280x800.png'), fullPage: true });
  view.setStale(CX, false, Date.now());
  await page.locator('#warnings li', { hasText: 'state is stale' }).waitFor({ state: 'detached', timeout: 2000 });
  t.same(errors, []);
});

t.test('text from the API is shown as text, never run or parsed as HTML', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  t.teardown(() => page.close());
  await page.goto(url);
  await page.locator('#hosts tr[data-host="sca1001.eqiad.wmnet"]').waitFor();
  // Arrives live, through the SSE event and the refetch it triggers.
  const state = cxState(2, { 'sca1004.eqiad.wmnet': { reason: HOSTILE_REASON } });
  state.servers[HOSTILE_HOST] = { ...state.servers['sca1001.eqiad.wmnet'], reason: HOSTILE_REASON };
  view.setState(state);
  await page.waitForFunction((h) => [...document.querySelectorAll('#hosts tr[data-host]')].some((r) => r.getAttribute('data-host') === h), HOSTILE_HOST, { timeout: 2000 });
  const shown = await page.evaluate((h) => {
    const row = [...document.querySelectorAll('#hosts tr[data-host]')].find((r) => r.getAttribute('data-host') === h)!;
    return { host: row.querySelector('th.host')!.textContent, reason: row.querySelector('td.reason')!.textContent };
  }, HOSTILE_HOST);
  t.same(shown, { host: HOSTILE_HOST, reason: HOSTILE_REASON });
  await page.locator('#timeline li', { hasText: HOSTILE_HOST }).first().waitFor({ timeout: 1000 });
  t.match(await page.locator('#timeline').innerText(), HOSTILE_REASON);
  const injected = await page.evaluate(() => ({
    pwned: window.pwned ?? null,
    elements: document.querySelectorAll('main img, main script, main b').length,
  }));
  t.same(injected, { pwned: null, elements: 0 });
});
