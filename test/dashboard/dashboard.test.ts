// The operator dashboard in a real browser (Debian's chromium driven by playwright-core) against a
// real poold: private etcd, pools synced by the real poolctl, simulated HTTP backends checked every
// 300 ms, the daemon in-process. Everything the page shows comes from /v1/pools and /v1/events.
//
// Screenshots are kept in test-artifacts/dashboard/ (gitignored) for people to look at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startEtcd } from '../helpers/etcd.js';
import { ROOT } from '../helpers/poolctl.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { poolctl, poolsDir, serviceYaml, startDaemon } from '../daemon/harness.js';
import type { PageDocument, PageElement, PageWindow } from './page-dom.js';

// Page-side callbacks run in chromium (see page-dom.ts).
declare const document: PageDocument;
declare const window: PageWindow;

const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
mkdirSync(ARTIFACTS, { recursive: true });

const PORT = 8141;
const EQIAD_APP = { 'mw1001.eqiad.wmnet': '127.41.0.11', 'mw1002.eqiad.wmnet': '127.41.0.12', 'mw1003.eqiad.wmnet': '127.41.0.13' };
const EQIAD_SCA = { 'sca1001.eqiad.wmnet': '127.41.0.21', 'sca1002.eqiad.wmnet': '127.41.0.22' };
const CODFW_RB = { 'restbase2001.codfw.wmnet': '127.41.0.31', 'restbase2002.codfw.wmnet': '127.41.0.32' };
const ALL = { ...EQIAD_APP, ...EQIAD_SCA, ...CODFW_RB };

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: Object.values(ALL).map((address) => ({ address, port: PORT, behaviour: 'ok' as const, service: 'dash' })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'appservers', cluster: 'appserver', ip: '10.41.0.1', port: PORT, threshold: 0.5, servers: EQIAD_APP })}${serviceYaml({ name: 'cxserver', cluster: 'sca', ip: '10.41.0.2', port: PORT, threshold: 0.5, servers: EQIAD_SCA })}`,
  'codfw.yaml': `dc: codfw\nservices:\n${serviceYaml({ name: 'restbase', cluster: 'restbase', ip: '10.41.1.1', port: PORT, threshold: 0.5, servers: CODFW_RB })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);
const daemon = await startDaemon(etcd.endpoints, { observer: 'ui-test' });
t.teardown(() => daemon.stop());

const browser: Browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
t.teardown(() => browser.close());

const pageProblems = new WeakMap<Page, string[]>();

/** A fresh page (1280x800 unless told) that records script errors and failed requests; see closePage. */
async function openPage(t: Test, viewport = { width: 1280, height: 800 }, hash = ''): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  pageProblems.set(page, problems);
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => {
    // The SSE stream is cut when the page closes or navigates; that is not a failure of the page.
    if (!req.url().includes('/v1/events')) problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  t.teardown(() => page.close());
  await page.goto(`${daemon.url}/${hash}`);
  return page;
}

/** Asserts the page had no script errors, console errors or failed requests, then closes it. */
async function closePage(t: Test, page: Page): Promise<void> {
  t.same(pageProblems.get(page), [], 'no script errors, console errors or failed requests');
  await page.close();
}

/** Rows of the overview's hosts table, once they equal `want` (the page renders on the next frame), else as they are. */
async function hostsBecome(page: Page, want: string[]): Promise<string[]> {
  const wanted = [...want].sort();
  await page
    .waitForFunction((w) => [...document.querySelectorAll('#hosts tbody tr[data-host]')].map((r) => r.getAttribute('data-host')).sort().join() === w.join(), wanted, { timeout: 2000 })
    .catch(() => undefined); // the caller's assertion shows what the page has instead
  return visibleHosts(page);
}

/** The pool row's text once it matches `re` (the counts arrive with the refetch after an event), else as it is. */
async function poolRowMatching(page: Page, id: string, re: RegExp, timeout = 2000): Promise<string> {
  const row = page.locator(`#pools tr[data-pool="${id}"]`);
  await page
    .waitForFunction(({ id, src }) => new RegExp(src).test((document.querySelector(`#pools tr[data-pool="${id}"]`) as PageElement | null)?.innerText ?? ''), { id, src: re.source }, { timeout })
    .catch(() => undefined);
  return row.innerText();
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** The visible text of a host's row in the overview's hosts table. */
const hostRow = (page: Page, host: string) => page.locator(`#hosts tbody tr[data-host="${host}"]`);
const cellText = (page: Page, host: string, cls: string) => hostRow(page, host).locator(`td.${cls}`).innerText();

async function visibleHosts(page: Page): Promise<string[]> {
  return (await page.locator('#hosts tbody tr[data-host]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host') ?? ''))).sort();
}

async function waitForAllHostsUp(page: Page): Promise<void> {
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('#hosts tbody tr[data-host] td.effective')].filter((td) => /^pooled w\d+$/.test(td.textContent ?? '')).length === n,
    Object.keys(ALL).length,
    { timeout: 15_000 },
  );
}

t.test('the page is served by poold with its assets, read-only and locked down', async (t) => {
  const page = await fetch(`${daemon.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  t.equal(page.status, 200);
  t.equal(page.headers.get('vary'), 'Accept');
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /default-src 'none'/);
  t.match(await page.text(), /<script type="module" src="\/ui\/dashboard\.js">/);
  const js = await fetch(`${daemon.url}/ui/dashboard.js`);
  t.match(js.headers.get('content-type'), /^text\/javascript/);
  const source = await js.text();
  // Text from the API reaches the DOM only as text nodes: no HTML parsing of data anywhere.
  t.notMatch(source, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  // The page never writes: its only requests are GETs (fetch without a method, EventSource).
  t.notMatch(source, /method:\s*['"](POST|PUT|DELETE|PATCH)/i);
  t.equal((await fetch(`${daemon.url}/ui/dashboard.css`)).status, 200);
  // PyBal-era tooling that does not ask for HTML still gets PyBal's 404 at the root.
  const plain = await fetch(`${daemon.url}/`, { headers: { accept: '*/*' } });
  t.equal(plain.status, 404);
  t.equal(await plain.text(), 'The desired url was not found');
  t.equal((await fetch(`${daemon.url}/ui/../package.json`)).status, 404);
  t.equal((await fetch(`${daemon.url}/ui/routes-dashboard.ts`)).status, 404);
});

t.test('overview: every pool with its counts, every host with its states, live', async (t) => {
  const page = await openPage(t);
  await waitForAllHostsUp(page);
  const pools = await page.locator('#pools tbody tr[data-pool]').evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll('th,td')].map((c) => (c as PageElement).innerText.trim())),
  );
  const byName = Object.fromEntries(pools.map((cells) => [cells[0], cells.slice(1)]));
  // Pool, Status, Pooled, Up, Total, Threshold headroom, Updated
  t.same(byName['appservers_8141 eqiad · appserver/appservers']?.slice(0, 4), ['healthy', '3', '3', '3']);
  t.same(byName['cxserver_8141 eqiad · sca/cxserver']?.slice(1, 4), ['2', '2', '2']);
  t.same(byName['restbase_8141 codfw · restbase/restbase']?.slice(1, 4), ['2', '2', '2']);
  // 3 hosts at 50%: 2 required, 1 spare.
  t.match(byName['appservers_8141 eqiad · appserver/appservers']?.[4], /1 spare.*need 2 \(50%\)/);
  t.same(await visibleHosts(page), Object.keys(ALL).sort());
  t.match(await cellText(page, 'mw1001.eqiad.wmnet', 'admin'), /pooled.*w10/);
  t.equal(await cellText(page, 'mw1001.eqiad.wmnet', 'health'), 'up');
  t.match(await cellText(page, 'mw1001.eqiad.wmnet', 'verdict'), /pass.*ok[\s\S]*connect [\d.]+ ms · first byte [\d.]+ ms · total [\d.]+ ms/);
  t.match(await page.locator('#leadership').innerText(), /this instance is the leader \(ui-test/);
  await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'Events: Live');
  await page.locator('#timeline li.ev').first().waitFor();
  await shot(page, 'overview-1280x800');
  await closePage(t, page);
});

t.test('poolctl depool shows within 1 s without a reload; a failing backend shows down with its reason', async (t) => {
  const page = await openPage(t);
  await waitForAllHostsUp(page);
  await page.evaluate(() => (window.marker = 'same document'));

  const r = await poolctl(['depool', 'mw1002.eqiad.wmnet', '--reason', 'dashboard test'], etcd.clientUrl);
  t.equal(r.code, 0);
  const shownAfter = Date.now();
  await page.waitForFunction(
    () => {
      const row = document.querySelector('#hosts tr[data-host="mw1002.eqiad.wmnet"]');
      return row?.querySelector('td.admin')?.textContent?.startsWith('depooled') && row.querySelector('td.effective')?.textContent === 'not pooled';
    },
    undefined,
    { timeout: 1000 },
  );
  t.ok(Date.now() - shownAfter <= 1000, `depool visible ${Date.now() - shownAfter} ms after poolctl exited`);
  t.equal(await page.evaluate(() => window.marker), 'same document', 'no reload happened');
  t.match(await poolRowMatching(page, 'eqiad/appservers_8141', /\b2\s+3\s+3\b/), /\b2\s+3\s+3\b/, 'pooled 2, up 3, total 3');
  await page.locator('#timeline li.ev-admin', { hasText: 'mw1002.eqiad.wmnet' }).first().waitFor({ timeout: 1000 });

  await sim.setBehaviour(EQIAD_SCA['sca1002.eqiad.wmnet'], PORT, 'empty-200', { service: 'dash' });
  await page.waitForFunction(
    () => document.querySelector('#hosts tr[data-host="sca1002.eqiad.wmnet"] td.health')?.textContent === 'down',
    undefined,
    { timeout: 5000 },
  );
  t.match(await cellText(page, 'sca1002.eqiad.wmnet', 'reason'), /empty/i, 'the reason names the empty body');
  t.match(await cellText(page, 'sca1002.eqiad.wmnet', 'verdict'), /fail/);
  await page.waitForFunction(() => document.querySelector('#hosts tr[data-host="sca1002.eqiad.wmnet"] td.effective')?.textContent === 'not pooled', undefined, { timeout: 5000 });
  t.match(await poolRowMatching(page, 'eqiad/cxserver_8141', /degraded\s+1\s+1\s+2/), /degraded\s+1\s+1\s+2/, 'degraded: pooled 1, up 1, total 2');
  await page.locator('#timeline li.ev-check', { hasText: 'sca1002.eqiad.wmnet' }).first().waitFor({ timeout: 1000 });
  t.equal(await page.evaluate(() => window.marker), 'same document', 'still no reload');
  await shot(page, 'overview-after-depool-and-failure-1280x800');
  await closePage(t, page);
});

t.test('filters by dc, cluster and service, and search by host', async (t) => {
  const page = await openPage(t);
  await page.locator('#hosts tbody tr[data-host]').first().waitFor();
  const dc = page.getByLabel('Data centre');
  const service = page.getByLabel('Service');
  const search = page.getByRole('searchbox', { name: 'Search host' });

  await dc.selectOption('codfw');
  t.same(await hostsBecome(page, Object.keys(CODFW_RB)), Object.keys(CODFW_RB).sort());
  t.same(await page.locator('#pools tbody tr[data-pool]').evaluateAll((r) => r.map((x) => x.getAttribute('data-pool'))), ['codfw/restbase_8141']);

  await dc.selectOption('');
  await service.selectOption('cxserver_8141');
  t.same(await hostsBecome(page, Object.keys(EQIAD_SCA)), Object.keys(EQIAD_SCA).sort());

  await service.selectOption('');
  await page.getByLabel('Cluster').selectOption('appserver');
  t.same(await hostsBecome(page, Object.keys(EQIAD_APP)), Object.keys(EQIAD_APP).sort());
  await page.getByLabel('Cluster').selectOption('');

  await search.fill('mw1003');
  t.same(await hostsBecome(page, ['mw1003.eqiad.wmnet']), ['mw1003.eqiad.wmnet']);
  t.match(await page.locator('#filter-summary').innerText(), /3 of 3 pools, 1 host\b/);
  await search.fill('nothing-like-this');
  t.same(await hostsBecome(page, []), []);
  t.match(await page.locator('#hosts tbody').innerText(), /No host matches/);
  await search.fill('');
  t.same(await hostsBecome(page, Object.keys(ALL)), Object.keys(ALL).sort());
  await shot(page, 'overview-filtered-none-1280x800');
  await closePage(t, page);
});

t.test('pool detail view: hosts, verdict timings and a duration chart drawn in SVG', async (t) => {
  const page = await openPage(t);
  await page.getByRole('link', { name: 'appservers_8141' }).first().click();
  t.match(page.url(), /#\/pool\/eqiad\/appservers_8141$/);
  await page.getByRole('heading', { name: /appservers/ }).waitFor();
  // The detail view polls once a second: wait for a few samples per host.
  await page.waitForFunction(() => document.querySelectorAll('svg.duration-chart .point').length >= 9, undefined, { timeout: 10_000 });
  const chart = page.getByRole('img', { name: /check durations/i });
  t.equal(await chart.count(), 1);
  const points = await page.locator('svg.duration-chart .point').count();
  t.ok(points >= 9, `${points} data points`);
  t.equal(await page.locator('svg.duration-chart polyline').count(), 3, 'one line per host check');
  t.match(await page.locator('.legend').innerText(), /mw1001\.eqiad\.wmnet http.*last [\d.]+ ms/);
  const hosts = await page.locator('#pool-hosts tbody tr[data-host]').evaluateAll((r) => r.map((x) => x.getAttribute('data-host')));
  t.same(hosts, Object.keys(EQIAD_APP).sort());
  const checkRow = await page.locator('#pool-checks tbody tr[data-host="mw1001.eqiad.wmnet"]').innerText();
  t.match(checkRow, /http[\s\S]*pass[\s\S]*[\d.]+ ms[\s\S]*[\d.]+ ms[\s\S]*[\d.]+ ms/, 'connect, first byte, total');
  t.match(await page.locator('#pool-observers').innerText(), /ui-test/);
  t.match(await page.locator('dl.facts').innerText(), /10\.41\.0\.1:8141/);
  await shot(page, 'pool-detail-appservers-1280x800');
  await page.getByRole('link', { name: '← All pools' }).click();
  await page.locator('#pools').waitFor();
  await closePage(t, page);
});

t.test('layout at 1280x800 and 390x844 without horizontal overflow; controls have accessible names', async (t) => {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    const page = await openPage(t, viewport);
    await page.locator('#hosts tbody tr[data-host]').first().waitFor();
    const overflow = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    t.ok(overflow.scroll <= overflow.inner, `${viewport.width}px: scrollWidth ${overflow.scroll} <= innerWidth ${overflow.inner}`);
    await shot(page, `overview-${viewport.width}x${viewport.height}`);
    // What a phone shows without scrolling, and at the hosts table (full-page shots are too tall to read).
    await page.screenshot({ path: join(ARTIFACTS, `overview-${viewport.width}x${viewport.height}-screen1.png`) });
    await page.locator('#hosts').scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById('hosts')?.scrollIntoView());
    await page.screenshot({ path: join(ARTIFACTS, `overview-${viewport.width}x${viewport.height}-hosts.png`) });
    for (const name of ['Data centre', 'Cluster', 'Service']) t.equal(await page.getByRole('combobox', { name }).count(), 1, `select "${name}"`);
    t.equal(await page.getByRole('searchbox', { name: 'Search host' }).count(), 1);
    t.equal(await page.getByRole('table', { name: 'Pools' }).count(), 1);
    t.equal(await page.getByRole('table', { name: 'Hosts' }).count(), 1);
    t.equal(await page.getByRole('log', { name: 'Live events' }).count(), 1);
    t.ok(await page.locator('#hosts thead th[scope="col"]').count() >= 8);
    t.equal(await page.getByRole('button').count(), 0, 'nothing to press: the page never writes');

    await page.goto(`${daemon.url}/#/pool/eqiad/cxserver_8141`);
    await page.locator('svg.duration-chart .point').first().waitFor({ timeout: 10_000 });
    const detail = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    t.ok(detail.scroll <= detail.inner, `${viewport.width}px detail: scrollWidth ${detail.scroll} <= innerWidth ${detail.inner}`);
    await shot(page, `pool-detail-${viewport.width}x${viewport.height}`);
    await page.evaluate(() => document.querySelector('.chart')?.scrollIntoView());
    await page.screenshot({ path: join(ARTIFACTS, `pool-detail-${viewport.width}x${viewport.height}-chart.png`) });
    await closePage(t, page);
  }
});
