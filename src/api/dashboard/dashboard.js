// poold dashboard: a read-only view of /v1/pools, kept live by /v1/events.
//
// Plain browser JavaScript (an ES module, no framework, no build step) so the page works offline on
// any host running poold. Every piece of text from the API (host names, reasons, check messages)
// reaches the page through text nodes or setAttribute and is never parsed as HTML: a host called
// `<img onerror=...>` shows as exactly that text.
//
// Data flow: a full refresh (GET /v1/pools, then each pool's detail) fills `model`; each SSE event
// patches the model at once (so a depool shows within one frame of the event), is added to the
// timeline, and schedules a refetch of the pools it touches (the server stays the truth: counts,
// threshold, keptByThreshold are recomputed there). Check durations are sampled from the verdicts of
// each refetch (polled every second on a pool's detail view), so the chart fills while it is open.

const OVERVIEW_POLL_MS = 5000;
const DETAIL_POLL_MS = 1000;
const REFETCH_DEBOUNCE_MS = 60;
const MAX_EVENTS = 200;
const MAX_SAMPLES = 90; // per host and check
const SVG_NS = 'http://www.w3.org/2000/svg';

/** Everything the page knows; rendering reads only this. */
const model = {
  loaded: false,
  error: '',
  leadership: { leader: false, leaderId: null },
  /** @type {any[]} pool summaries from /v1/pools, in the API's order */
  pools: [],
  /** @type {Map<string, any>} LVS service id (dc/name) → /v1/pools/:dc/:name */
  details: new Map(),
  /** @type {Map<string, Map<string, {at:number,totalMs:number,connectMs?:number,firstByteMs?:number,up:boolean}[]>>} pool id → "host check" → samples */
  samples: new Map(),
  /** @type {any[]} newest first */
  events: [],
  connection: 'connecting',
};

const filters = { dc: '', cluster: '', service: '', host: '' };

// ---------------------------------------------------------------- DOM helpers (text-only)

/**
 * Creates an element. `attrs` values go through setAttribute (or are skipped when null/false);
 * children that are strings or numbers become text nodes, so nothing is ever parsed as HTML.
 */
function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

/** A status word with a class for colour and a glyph for shape; the word itself carries the meaning. */
function badge(kind, text, title) {
  return h('span', { class: `badge b-${kind}`, title }, text);
}

// ---------------------------------------------------------------- formatting

const poolId = (p) => `${p.dc}/${p.name}`;
/** The LVS services an event is about: admin events name a conftool pool and the services over it. */
const eventPools = (ev) => (!ev.pool ? [] : ev.services ? ev.services.map((name) => ({ dc: ev.pool.dc, name })) : [ev.pool]);

function ms(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${Math.round(v)} ms`;
  return `${v.toFixed(v >= 10 ? 1 : 2)} ms`;
}

function clock(epochMs) {
  const d = new Date(epochMs);
  return d.toLocaleTimeString(undefined, { hour12: false });
}

function age(epochMs) {
  if (typeof epochMs !== 'number') return '';
  const s = Math.max(0, Math.round((Date.now() - epochMs) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return s < 172800 ? `${Math.floor(s / 3600)}h ago` : `${Math.floor(s / 86400)}d ago`;
}

function leadershipText(l) {
  if (l.leader) return `Leadership: this instance is the leader (${l.leaderId ?? 'id unknown'})`;
  if (l.leaderId) return `Leadership: follower; leader is ${l.leaderId}`;
  return 'Leadership: no leader known';
}

/** The verdict that explains the host best: a failing check if any, else the most recent; null if none. */
function lastVerdict(host) {
  let best = null;
  for (const [check, v] of Object.entries(host.verdicts ?? {})) {
    const better = !best || (!v.up && best.v.up) || (v.up === best.v.up && (v.at ?? 0) > (best.v.at ?? 0));
    if (better) best = { check, v };
  }
  return best;
}

// ---------------------------------------------------------------- fetching

async function getJson(url) {
  const r = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try {
      const body = await r.json();
      if (body && typeof body.message === 'string') msg = body.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new Error(`GET ${url}: ${msg}`);
  }
  return r.json();
}

function recordSamples(id, detail) {
  let byKey = model.samples.get(id);
  if (!byKey) model.samples.set(id, (byKey = new Map()));
  for (const host of detail.hosts ?? []) {
    for (const [check, v] of Object.entries(host.verdicts ?? {})) {
      addSample(byKey, `${host.host} ${check}`, { at: v.at, up: v.up, ...v.timings });
    }
  }
}

function addSample(byKey, key, sample) {
  if (typeof sample.at !== 'number' || typeof sample.totalMs !== 'number') return;
  let list = byKey.get(key);
  if (!list) byKey.set(key, (list = []));
  if (list.some((s) => s.at === sample.at)) return;
  list.push(sample);
  list.sort((a, b) => a.at - b.at);
  if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
}

async function fetchDetail(summary) {
  const id = poolId(summary);
  const path = `/v1/pools/${[summary.dc, summary.name].map(encodeURIComponent).join('/')}`;
  try {
    const d = await getJson(path);
    model.details.set(id, d);
    recordSamples(id, d);
  } catch (err) {
    // A pool removed between the two requests answers 404: drop it; anything else is shown.
    if (/no pool /.test(String(err.message))) model.details.delete(id);
    else throw err;
  }
}

let refreshing = null;
/** GET /v1/pools and every pool's detail (or only `onlyIds` when given). */
async function refresh(onlyIds) {
  try {
    const list = await getJson('/v1/pools');
    model.pools = list.pools;
    model.leadership = list.leadership;
    const known = new Set(model.pools.map(poolId));
    for (const id of [...model.details.keys()]) if (!known.has(id)) model.details.delete(id);
    const wanted = model.pools.filter((p) => !onlyIds || onlyIds.has(poolId(p)) || !model.details.has(poolId(p)));
    await Promise.all(wanted.map(fetchDetail));
    model.loaded = true;
    model.error = '';
  } catch (err) {
    model.error = String(err.message ?? err);
  }
  scheduleRender();
}

let pendingIds = new Set();
let pendingAll = false;
let refetchTimer = 0;
/** Coalesces the refetches asked for by a burst of events into one round of requests. */
function scheduleRefetch(id) {
  if (id) pendingIds.add(id);
  else pendingAll = true;
  if (refetchTimer) return;
  refetchTimer = setTimeout(async () => {
    refetchTimer = 0;
    const ids = pendingAll ? undefined : pendingIds;
    pendingIds = new Set();
    pendingAll = false;
    // One refresh at a time: a slow one is followed by another rather than raced.
    while (refreshing) await refreshing;
    refreshing = refresh(ids).finally(() => (refreshing = null));
  }, REFETCH_DEBOUNCE_MS);
}

// ---------------------------------------------------------------- live events

function hostOf(ev) {
  for (const p of eventPools(ev)) {
    const x = model.details.get(poolId(p))?.hosts?.find((y) => y.host === ev.host);
    if (x) return x;
  }
  return undefined;
}

/** Patches the model with one event so the tables change before the refetch lands. */
function applyEvent(ev) {
  switch (ev.type) {
    case 'state': {
      const host = hostOf(ev);
      if (host && ev.after) {
        host.effective = { enabled: ev.after.enabled, up: ev.after.up, pooled: ev.after.pooled, weight: ev.after.weight };
        host.health = { ...host.health, up: ev.after.up, status: ev.after.up ? 'up' : host.health?.status === 'partially up' ? 'partially up' : 'down' };
        host.reason = ev.after.reason;
      }
      break;
    }
    case 'admin': {
      // One conftool write reaches every LVS service over that pool.
      for (const p of eventPools(ev)) {
        const host = model.details.get(poolId(p))?.hosts?.find((y) => y.host === ev.host);
        if (host && ev.after) host.admin = { pooled: ev.after.pooled, weight: ev.after.weight };
      }
      break;
    }
    case 'check': {
      const host = hostOf(ev);
      if (host) {
        const prev = host.verdicts?.[ev.check] ?? {};
        host.verdicts = { ...host.verdicts, [ev.check]: { ...prev, up: ev.up, code: ev.code, message: ev.message, at: ev.at, timings: { ...prev.timings, totalMs: ev.totalMs } } };
      }
      break;
    }
    case 'flapping': {
      const host = hostOf(ev);
      if (host) host.flapping = ev.flapping;
      break;
    }
    case 'leadership':
      model.leadership = { leader: ev.leader, leaderId: ev.leaderId };
      break;
    default:
      break; // drift, stale: only the refetch knows their effect on the summaries
  }
}

function connectEvents() {
  const es = new EventSource('/v1/events');
  const onEvent = (msg) => {
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch (err) {
      console.error('poold dashboard: unparsable event', msg.data, err);
      return;
    }
    if (msg.type === 'gap') {
      model.events.unshift({ id: `gap-${Date.now()}`, type: 'gap', at: Date.now() });
      scheduleRefetch();
    } else {
      applyEvent(ev);
      model.events.unshift(ev);
      if (ev.pool) for (const p of eventPools(ev)) scheduleRefetch(poolId(p));
      else scheduleRefetch();
    }
    if (model.events.length > MAX_EVENTS) model.events.length = MAX_EVENTS;
    scheduleRender();
  };
  for (const t of ['state', 'check', 'admin', 'flapping', 'drift', 'stale', 'leadership', 'gap']) es.addEventListener(t, onEvent);
  es.addEventListener('open', () => {
    model.connection = 'live';
    scheduleRender();
  });
  es.addEventListener('error', () => {
    // EventSource reconnects by itself (retry: 2000 from the server) and resumes by Last-Event-ID.
    model.connection = es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting';
    scheduleRender();
  });
}

// ---------------------------------------------------------------- routing and filters

function route() {
  const m = /^#\/pool\/([^/]+)\/([^/]+)\/?$/.exec(location.hash);
  if (!m) return { view: 'overview' };
  const [dc, name] = m.slice(1).map(decodeURIComponent);
  return { view: 'pool', dc, name, id: `${dc}/${name}` };
}

function poolHref(p) {
  return `#/pool/${[p.dc, p.name].map(encodeURIComponent).join('/')}`;
}

const poolMatches = (p) =>
  (!filters.dc || p.dc === filters.dc) && (!filters.cluster || p.cluster === filters.cluster) && (!filters.service || p.name === filters.service);
const hostMatches = (name) => !filters.host || name.toLowerCase().includes(filters.host.toLowerCase());

function fillSelect(id, values) {
  const sel = document.getElementById(id);
  const current = sel.value;
  const have = [...sel.options].slice(1).map((o) => o.value);
  if (have.join('\n') === values.join('\n')) return;
  sel.replaceChildren(h('option', { value: '' }, 'All'), ...values.map((v) => h('option', { value: v }, v)));
  // Keep a chosen value even when no pool has it any more, so the filter does not silently reset.
  if (current && !values.includes(current)) sel.append(h('option', { value: current }, `${current} (none)`));
  sel.value = current;
}

function wireFilters() {
  const form = document.getElementById('filters');
  form.addEventListener('submit', (e) => e.preventDefault());
  for (const key of ['dc', 'cluster', 'service']) {
    document.getElementById(`f-${key}`).addEventListener('change', (e) => {
      filters[key] = e.target.value;
      scheduleRender();
    });
  }
  document.getElementById('f-host').addEventListener('input', (e) => {
    filters.host = e.target.value.trim();
    scheduleRender();
  });
}

// ---------------------------------------------------------------- rendering

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const uniq = (f) => [...new Set(model.pools.map(f))].sort();
  fillSelect('f-dc', uniq((p) => p.dc));
  fillSelect('f-cluster', uniq((p) => p.cluster));
  fillSelect('f-service', uniq((p) => p.name));

  document.getElementById('leadership').textContent = leadershipText(model.leadership);
  const conn = document.getElementById('connection');
  const connText = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', closed: 'Disconnected' }[model.connection];
  conn.textContent = `Events: ${connText}`;
  conn.className = `conn ${model.connection === 'live' ? 'conn-on' : 'conn-off'}`;

  renderWarnings();

  // Re-rendering replaces the tables: keep each scroll box where the reader left it.
  const scrolls = new Map([...document.querySelectorAll('.table-wrap[id]')].map((el) => [el.id, el.scrollLeft]));
  const view = document.getElementById('view');
  const r = route();
  const content = !model.loaded
    ? [model.error ? h('p', { class: 'error', role: 'alert' }, `Cannot load pools: ${model.error}`) : h('p', { class: 'loading' }, 'Loading pools…')]
    : r.view === 'pool'
      ? renderPool(r)
      : renderOverview();
  if (model.loaded && model.error) content.unshift(h('p', { class: 'error', role: 'alert' }, `Last refresh failed: ${model.error}`));
  view.replaceChildren(...content);
  for (const [id, left] of scrolls) {
    const el = document.getElementById(id);
    if (el) el.scrollLeft = left;
  }
  renderTimeline();
}

function renderWarnings() {
  const items = [];
  const r = route();
  const scope = r.view === 'pool' ? (p) => poolId(p) === r.id : poolMatches;
  for (const p of model.pools.filter(scope)) {
    const name = poolId(p);
    if (p.stale) items.push(['bad', `${name}: state is stale${p.staleForMs !== null ? ` for ${Math.round(p.staleForMs / 1000)} s` : ''} (etcd watch lost or leader silent); showing the last known state`]);
    for (const d of p.drift ?? []) items.push(['bad', `${name}: drift in ${d.where}: ${d.message}`]);
    if (p.flapping?.length) items.push(['warn', `${name}: flapping: ${p.flapping.join(', ')}`]);
    if (p.counts?.pooledDown > 0) items.push(['bad', `${name}: ${p.counts.pooledDown} down host(s) kept pooled by the depool threshold`]);
    else if (p.threshold && p.threshold.headroom === 0) items.push(['warn', `${name}: no headroom: one more failure and the threshold stops depooling`]);
    if (p.pybalNameConflict) items.push(['warn', `${name}: PyBal name ${p.pybalName} is shared with another pool in scope`]);
    // Issue 14: correlated failure, a freeze of health depools, an unfinished first round.
    const cf = p.correlatedFailure;
    if (cf) items.push(['bad', `${name}: correlated failure: ${cf.failed} of ${cf.total} servers failed check ${cf.label} within 1 interval; likely the check or a shared dependency, not the servers`]);
    const fz = p.freeze;
    if (fz) items.push(['warn', `${name}: health depools frozen by ${fz.actor} until ${new Date(fz.until).toISOString().replace(/\.\d+Z$/, 'Z')}: ${fz.reason}`]);
    if (p.firstRound && p.firstRound !== 'done') items.push(['warn', `${name}: first round ${p.firstRound}: health depools wait for every server's first verdict`]);
  }
  const box = document.getElementById('warnings');
  box.hidden = items.length === 0;
  box.replaceChildren(
    h('h2', { class: 'visually-hidden' }, 'Warnings'),
    h('ul', null, items.map(([kind, text]) => h('li', { class: `warn-${kind}` }, badge(kind, kind === 'bad' ? 'Critical' : 'Warning'), ' ', text))),
  );
}

function headroomCell(p) {
  if (!p.threshold) return h('td', null, '–');
  const { headroom, required, depoolThreshold } = p.threshold;
  const kind = headroom < 0 ? 'bad' : headroom === 0 ? 'warn' : 'ok';
  const text = headroom < 0 ? `${-headroom} short` : `${headroom} spare`;
  return h('td', { 'data-label': 'Headroom' }, badge(kind, text), h('span', { class: 'muted' }, ` need ${required} (${Math.round(depoolThreshold * 100)}%)`));
}

function poolStatus(p) {
  if (!p.revision && p.revision !== 0) return badge('muted', 'no state yet');
  if (p.stale) return badge('bad', 'stale');
  if (p.correlatedFailure) return badge('bad', 'correlated failure');
  if (p.counts.pooledDown > 0) return badge('bad', 'down but pooled');
  if (p.freeze) return badge('warn', 'frozen');
  if (p.drift?.length) return badge('bad', 'drift');
  if (p.flapping?.length) return badge('warn', 'flapping');
  if (p.counts.up < p.counts.total) return badge('warn', 'degraded');
  return badge('ok', 'healthy');
}

function table(id, caption, headers, rows, empty) {
  return h(
    'div',
    { class: 'table-wrap', id: `wrap-${id}`, role: 'region', 'aria-labelledby': `cap-${id}`, tabindex: '0' },
    h(
      'table',
      { id, class: 'data' },
      h('caption', { id: `cap-${id}` }, caption),
      h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, rows.length ? rows : h('tr', { class: 'empty' }, h('td', { colspan: headers.length }, empty))),
    ),
  );
}

function renderOverview() {
  const pools = model.pools.filter(poolMatches);
  const poolRows = pools.map((p) =>
    h(
      'tr',
      { 'data-pool': poolId(p) },
      h('th', { scope: 'row', 'data-label': 'Pool' }, h('a', { href: poolHref(p) }, p.name), h('span', { class: 'muted' }, ` ${p.dc} · ${p.cluster}/${p.service}`)),
      h('td', { 'data-label': 'Status' }, poolStatus(p)),
      h('td', { 'data-label': 'Pooled', class: 'num' }, String(p.counts.pooled)),
      h('td', { 'data-label': 'Up', class: 'num' }, String(p.counts.up)),
      h('td', { 'data-label': 'Total', class: 'num' }, String(p.counts.total)),
      headroomCell(p),
      h('td', { 'data-label': 'Updated' }, p.updatedAt ? age(p.updatedAt) : '–', p.revision !== null ? h('span', { class: 'muted' }, ` rev ${p.revision}`) : null),
    ),
  );
  const hostRows = [];
  for (const p of pools) {
    const d = model.details.get(poolId(p));
    for (const host of d?.hosts ?? []) if (hostMatches(host.host)) hostRows.push(hostRow(host, p));
  }
  const hostCount = hostRows.length;
  document.getElementById('filter-summary').textContent = `Showing ${pools.length} of ${model.pools.length} pools, ${hostCount} host${hostCount === 1 ? '' : 's'}.`;
  return [
    h('h2', { class: 'visually-hidden' }, 'Overview'),
    table('pools', 'Pools', ['Pool', 'Status', 'Pooled', 'Up', 'Total', 'Threshold headroom', 'Updated'], poolRows, 'No pool matches the filters.'),
    table('hosts', 'Hosts', ['Host', 'Pool', 'Admin', 'Health', 'Effective', 'Reason', 'Last check', 'Marks'], hostRows, 'No host matches the filters.'),
  ];
}

function adminCell(host) {
  const a = host.admin ?? {};
  const kind = a.pooled === 'yes' ? 'ok' : a.pooled === 'inactive' ? 'muted' : 'warn';
  const word = a.pooled === 'yes' ? 'pooled' : a.pooled === 'inactive' ? 'inactive' : 'depooled';
  return h('td', { 'data-label': 'Admin', class: 'admin' }, badge(kind, word, `conftool pooled=${a.pooled}`), h('span', { class: 'muted' }, ` w${a.weight}`));
}

function healthCell(host) {
  const status = host.health?.status ?? (host.health?.up ? 'up' : 'down');
  return h('td', { 'data-label': 'Health', class: 'health' }, badge(status === 'up' ? 'ok' : status === 'down' ? 'bad' : 'warn', status));
}

function effectiveCell(host) {
  const e = host.effective ?? {};
  const kind = e.pooled ? (e.up ? 'ok' : 'bad') : 'muted';
  return h('td', { 'data-label': 'Effective', class: 'effective' }, badge(kind, e.pooled ? (e.up ? 'pooled' : 'pooled while down') : 'not pooled'), e.pooled ? h('span', { class: 'muted' }, ` w${e.weight}`) : null);
}

/** connect · first byte · total, each part unbreakable so a narrow cell wraps between parts only. */
function timingParts(t) {
  if (!t) return [];
  const parts = [];
  if (typeof t.connectMs === 'number') parts.push(`connect ${ms(t.connectMs)}`);
  if (typeof t.firstByteMs === 'number') parts.push(`first byte ${ms(t.firstByteMs)}`);
  parts.push(`total ${ms(t.totalMs)}`);
  return parts.flatMap((p, i) => [i ? ' · ' : null, h('span', { class: 'nowrap' }, p)]);
}

function verdictCell(host) {
  const last = lastVerdict(host);
  if (!last) return h('td', { 'data-label': 'Last check', class: 'verdict' }, h('span', { class: 'muted' }, 'no verdict from this instance'));
  const { check, v } = last;
  return h(
    'td',
    { 'data-label': 'Last check', class: 'verdict' },
    badge(v.up ? 'ok' : 'bad', v.up ? 'pass' : 'fail'),
    ' ',
    h('span', { class: 'check-name' }, check),
    ' ',
    h('code', null, v.code ?? ''),
    h('br'),
    h('span', { class: 'timings' }, timingParts(v.timings), v.at ? [' · ', h('span', { class: 'nowrap' }, age(v.at))] : null),
  );
}

function marksCell(host) {
  const marks = [];
  if (host.flapping) marks.push(badge('warn', 'flapping'));
  if (host.keptByThreshold) marks.push(badge('bad', 'kept by threshold', 'down, but pooled so the pool stays above its depool threshold'));
  // Admin depools from any writer are held by the threshold (src/model/coordinator-hold.ts).
  const hold = host.adminHold;
  if (hold) {
    const by = hold.writer === null ? 'writer being looked up' : `by ${hold.writer}`;
    if (hold.status === 'held') marks.push(badge('bad', 'admin depool held', `conftool says ${hold.requested} (${by}), but depooling would break the depool threshold: still pooled`));
    else marks.push(badge('warn', 'forced depool', `depooled below the depool threshold by a force marker (${by})`));
  }
  for (const f of host.findings ?? []) marks.push(badge(f.severity === 'critical' ? 'bad' : 'warn', f.code, f.message));
  return h('td', { 'data-label': 'Marks', class: 'marks' }, marks.length ? marks : h('span', { class: 'muted' }, '–'));
}

function hostRow(host, pool) {
  return h(
    'tr',
    { 'data-host': host.host, 'data-pool': pool ? poolId(pool) : null },
    h('th', { scope: 'row', 'data-label': 'Host', class: 'host' }, host.host),
    pool ? h('td', { 'data-label': 'Pool' }, h('a', { href: poolHref(pool) }, pool.name), h('span', { class: 'muted' }, ` ${pool.dc} · ${pool.cluster}/${pool.service}`)) : null,
    adminCell(host),
    healthCell(host),
    effectiveCell(host),
    h('td', { 'data-label': 'Reason', class: 'reason' }, host.reason ?? ''),
    verdictCell(host),
    marksCell(host),
  );
}

function renderPool(r) {
  const d = model.details.get(r.id);
  const back = h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← All pools'));
  if (!d) return [back, h('p', { class: 'error', role: 'alert' }, `No pool ${r.id} on this poold (GET /v1/pools lists the pools).`)];
  const hosts = (d.hosts ?? []).filter((x) => hostMatches(x.host));
  document.getElementById('filter-summary').textContent = `Pool ${r.id}: showing ${hosts.length} of ${(d.hosts ?? []).length} hosts.`;
  const c = d.counts;
  const facts = [
    ['Status', poolStatus(d)],
    ['Pooled / up / total', `${c.pooled} / ${c.up} / ${c.total}`],
    ['Threshold', d.threshold ? `${Math.round(d.threshold.depoolThreshold * 100)}%: need ${d.threshold.required} up, have ${d.threshold.upEnabled} (${d.threshold.headroom < 0 ? `${-d.threshold.headroom} short` : `${d.threshold.headroom} spare`})` : '–'],
    ['LVS', d.lvs ? `${d.lvs.ip}:${d.lvs.port} ${d.lvs.protocol ?? ''} ${d.lvs.scheduler ?? ''}`.trim() : '–'],
    ['Checks', d.checks?.length ? d.checks.map((k) => `${k.name} (${k.kind}, every ${ms(k.intervalMs)}, timeout ${ms(k.timeoutMs)}, rise ${k.rise}/fall ${k.fall})`).join('; ') : '–'],
    ['PyBal name', d.pybalName + (d.pybalNameConflict ? ' (shared with another pool)' : '')],
    ['State revision', d.revision !== null ? `${d.revision}${d.updatedAt ? `, ${age(d.updatedAt)}` : ''}` : 'none published yet'],
  ];
  const checkRows = [];
  for (const host of hosts) {
    for (const [check, v] of Object.entries(host.verdicts ?? {})) {
      checkRows.push(
        h(
          'tr',
          { 'data-host': host.host },
          h('th', { scope: 'row', 'data-label': 'Host', class: 'host' }, host.host),
          h('td', { 'data-label': 'Check' }, check),
          h('td', { 'data-label': 'Result' }, badge(v.up ? 'ok' : 'bad', v.up ? 'pass' : 'fail'), ' ', h('code', null, v.code ?? '')),
          h('td', { 'data-label': 'Message', class: 'reason' }, v.message ?? ''),
          h('td', { 'data-label': 'Connect', class: 'num' }, ms(v.timings?.connectMs)),
          h('td', { 'data-label': 'First byte', class: 'num' }, ms(v.timings?.firstByteMs)),
          h('td', { 'data-label': 'Total', class: 'num' }, ms(v.timings?.totalMs)),
          h('td', { 'data-label': 'When' }, v.at ? `${clock(v.at)} (${age(v.at)})` : '–'),
        ),
      );
    }
  }
  const observerRows = [];
  for (const host of hosts) {
    for (const [name, o] of Object.entries(host.observers ?? {})) {
      observerRows.push(
        h(
          'tr',
          { 'data-host': host.host },
          h('th', { scope: 'row', 'data-label': 'Host', class: 'host' }, host.host),
          h('td', { 'data-label': 'Observer' }, name),
          h('td', { 'data-label': 'Sees' }, badge(o.up ? 'ok' : 'bad', o.up ? 'up' : 'down'), o.flapping ? [' ', badge('warn', 'flapping')] : null),
          h('td', { 'data-label': 'Reason', class: 'reason' }, o.reason ?? ''),
          h('td', { 'data-label': 'When' }, o.at ? age(o.at) : '–'),
        ),
      );
    }
  }
  return [
    back,
    h('h2', { class: 'pool-title' }, d.name, h('span', { class: 'muted' }, ` ${d.dc} · pool ${d.cluster}/${d.service}`)),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    renderChart(r.id, hosts.map((x) => x.host)),
    table('pool-hosts', `Hosts of ${d.name}`, ['Host', 'Admin', 'Health', 'Effective', 'Reason', 'Last check', 'Marks'], hosts.map((x) => hostRow(x, null)), 'No host matches the search.'),
    table('pool-checks', 'Latest verdict per check (this instance)', ['Host', 'Check', 'Result', 'Message', 'Connect', 'First byte', 'Total', 'When'], checkRows, 'No verdicts yet.'),
    table('pool-observers', 'Observations by every poold instance', ['Host', 'Observer', 'Sees', 'Reason', 'When'], observerRows, 'No observations.'),
  ];
}

// ---------------------------------------------------------------- chart (inline SVG, no library)

const SERIES_CLASSES = 6; // .s0 … .s5 in the CSS; markers differ too, so series are not told apart by colour alone

function marker(shape, x, y, cls, label) {
  const title = svg('title', null, label);
  if (shape === 1) return svg('rect', { x: x - 3, y: y - 3, width: 6, height: 6, class: cls }, title);
  if (shape === 2) return svg('path', { d: `M${x} ${y - 4}L${x + 4} ${y + 3}L${x - 4} ${y + 3}Z`, class: cls }, title);
  return svg('circle', { cx: x, cy: y, r: 3.2, class: cls }, title);
}

function renderChart(id, hostNames) {
  const byKey = model.samples.get(id) ?? new Map();
  const series = [...byKey.entries()]
    .filter(([key]) => hostNames.includes(key.slice(0, key.lastIndexOf(' '))))
    .sort(([a], [b]) => a.localeCompare(b));
  const all = series.flatMap(([, list]) => list);
  const section = h('section', { class: 'chart', 'aria-labelledby': 'chart-title' }, h('h3', { id: 'chart-title' }, 'Recent check durations'));
  if (all.length === 0) {
    section.append(h('p', { class: 'muted' }, 'No check results sampled yet; points appear as checks run.'));
    return section;
  }
  // Drawn at the width it will be shown at (1 user unit = 1 CSS px), so labels keep their size on a phone.
  const W = Math.round(Math.max(300, Math.min(1100, (document.getElementById('view')?.clientWidth ?? 640) - 34)));
  const H = W < 500 ? 200 : 240, L = 56, R = 14, T = 12, B = 30;
  const t0 = Math.min(...all.map((s) => s.at));
  const t1 = Math.max(...all.map((s) => s.at), t0 + 1000);
  const maxMs = niceCeil(Math.max(...all.map((s) => s.totalMs), 1));
  const x = (at) => L + ((at - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / maxMs) * (H - T - B);
  const g = [];
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    const v = maxMs * frac;
    g.push(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    g.push(svg('text', { x: L - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, ms(v)));
  }
  g.push(svg('text', { x: L, y: H - 8, class: 'tick' }, clock(t0)));
  g.push(svg('text', { x: W - R, y: H - 8, class: 'tick', 'text-anchor': 'end' }, clock(t1)));
  const legend = [];
  series.forEach(([key, list], i) => {
    const cls = `s${i % SERIES_CLASSES}`;
    const shape = i % 3;
    const pts = list.map((s) => `${x(s.at).toFixed(1)},${y(s.totalMs).toFixed(1)}`).join(' ');
    g.push(svg('polyline', { points: pts, class: `line ${cls}` }));
    for (const s of list) {
      g.push(marker(shape, x(s.at), y(s.totalMs), `point ${cls}${s.up ? '' : ' failed'}`, `${key} at ${clock(s.at)}: ${ms(s.totalMs)}${s.up ? '' : ' (failed)'}`));
    }
    legend.push(h('li', null, svg('svg', { width: 14, height: 14, viewBox: '0 0 14 14', 'aria-hidden': 'true', class: 'key' }, marker(shape, 7, 7, `point ${cls}`, key)), ` ${key}: last ${ms(list.at(-1).totalMs)}, max ${ms(Math.max(...list.map((s) => s.totalMs)))} (${list.length} sample${list.length === 1 ? '' : 's'})`));
  });
  section.append(
    svg(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-svg-title chart-svg-desc', class: 'duration-chart', preserveAspectRatio: 'xMidYMid meet' },
      svg('title', { id: 'chart-svg-title' }, 'Check durations (total ms) over time'),
      svg('desc', { id: 'chart-svg-desc' }, `${all.length} samples across ${series.length} host checks from ${clock(t0)} to ${clock(t1)}; failed checks are hollow markers.`),
      svg('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }),
      svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }),
      g,
    ),
    h('ul', { class: 'legend' }, legend),
  );
  return section;
}

/** Rounds up to 1, 2 or 5 × 10^n so the axis ticks are round numbers. */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// ---------------------------------------------------------------- timeline

function eventText(ev) {
  const snap = (s) => (s ? `${s.pooled ? 'pooled' : 'not pooled'}, ${s.up ? 'up' : 'down'}${s.enabled ? '' : ', disabled'}` : 'absent');
  switch (ev.type) {
    case 'state':
      return `${snap(ev.before)} → ${snap(ev.after)}${ev.after?.reason ? ` (${ev.after.reason})` : ''}`;
    case 'check':
      return `check ${ev.check} ${ev.up ? 'passes' : 'fails'}: ${ev.message} (${ms(ev.totalMs)})`;
    case 'admin':
      return `conftool pooled=${ev.before?.pooled ?? '∅'} → ${ev.after?.pooled ?? '∅'}, weight ${ev.after?.weight ?? '∅'}${ev.actor ? ` by ${ev.actor}` : ''}${ev.reason ? `: ${ev.reason}` : ''}`;
    case 'flapping':
      return ev.flapping ? 'started flapping' : 'stopped flapping';
    case 'drift':
      return ev.problems.length ? `drift: ${ev.problems.join('; ')}` : 'drift resolved';
    case 'stale':
      return ev.stale ? `state stale${ev.pool ? '' : ' (all pools)'}` : `state fresh again${ev.pool ? '' : ' (all pools)'}`;
    case 'leadership':
      return ev.leader ? `this instance became leader (${ev.leaderId})` : `leader is ${ev.leaderId ?? 'unknown'}`;
    case 'gap':
      return 'some events were missed; tables reloaded';
    default:
      return ev.type;
  }
}

function eventKind(ev) {
  if (ev.type === 'state') return ev.after?.pooled ? (ev.after.up ? 'ok' : 'bad') : 'warn';
  if (ev.type === 'check') return ev.up ? 'ok' : 'bad';
  if (ev.type === 'admin') return ev.after?.pooled === 'yes' ? 'ok' : 'warn';
  if (ev.type === 'flapping' || ev.type === 'drift' || ev.type === 'stale') return (ev.flapping || ev.problems?.length || ev.stale) ? 'bad' : 'ok';
  return 'muted';
}

function renderTimeline() {
  const shown = model.events.filter((ev) => (!ev.pool || ev.services !== undefined || poolMatches(ev.pool)) && (!filters.host || (ev.host && hostMatches(ev.host)))).slice(0, 60);
  const list = document.getElementById('timeline');
  list.replaceChildren(
    ...(shown.length
      ? shown.map((ev) =>
          h(
            'li',
            { class: `ev ev-${ev.type}`, 'data-type': ev.type, 'data-host': ev.host ?? null },
            h('time', { datetime: new Date(ev.at).toISOString() }, clock(ev.at)),
            ' ',
            badge(eventKind(ev), ev.type),
            ' ',
            ev.pool
              ? ev.services
                ? h('span', { class: 'ev-pool' }, `${ev.pool.dc}/${ev.pool.cluster}/${ev.pool.service}`)
                : h('a', { href: poolHref(ev.pool), class: 'ev-pool' }, `${ev.pool.dc}/${ev.pool.name}`)
              : null,
            ev.host ? [' ', h('strong', { class: 'host' }, ev.host)] : null,
            ' ',
            h('span', { class: 'ev-text' }, eventText(ev)),
          ),
        )
      : [h('li', { class: 'muted' }, 'No events yet.')]),
  );
}

// ---------------------------------------------------------------- start

let pollTimer = 0;
function poll() {
  clearTimeout(pollTimer);
  const r = route();
  if (r.view === 'pool') scheduleRefetch(r.id);
  else scheduleRefetch();
  pollTimer = setTimeout(poll, r.view === 'pool' ? DETAIL_POLL_MS : OVERVIEW_POLL_MS);
}

function start() {
  wireFilters();
  window.addEventListener('hashchange', () => {
    scheduleRender();
    poll();
    if (route().view === 'pool') document.getElementById('main').focus({ preventScroll: true });
  });
  refreshing = refresh().finally(() => (refreshing = null));
  connectEvents();
  pollTimer = setTimeout(poll, route().view === 'pool' ? DETAIL_POLL_MS : OVERVIEW_POLL_MS);
  window.addEventListener('resize', scheduleRender); // the chart is drawn for the current width
  // Ages ("3s ago") move on even when nothing else does.
  setInterval(scheduleRender, 5000);
}

start();
