// The check_pybal way of monitoring a balancer: Icinga fetches /alerts and maps its body to a plugin
// state. The body formats are PyBal's (ARCHITECTURE.md §11); poold adds more CRITICAL causes in the same shape.
import { NAGIOS_STATES, pluginText, type NagiosExit, type NagiosOutput } from './nagios-output.js';

const STATE_EXIT: Record<string, NagiosExit> = { ok: 0, warning: 1, critical: 2 };

/** Parts of a CRITICAL message that concern one pool (`<pool>: ...` or `Pool <pool> ...`). */
function partsForPool(msg: string, pool: string): string[] {
  return msg
    .split(/;\s+/)
    .map((p) => p.trim())
    .filter((p) => p.startsWith(`${pool}:`) || p.startsWith(`Pool ${pool} `) || p.includes(` pool ${pool} `));
}

/**
 * Maps a /alerts response to Nagios output. `pool` narrows the verdict to one pool's alerts, so each
 * LVS service gets its own Icinga service. A non-200 answer or a body poold never writes is UNKNOWN
 * (or CRITICAL for a failed fetch, as check_pybal does), never silently OK.
 */
export function alertsToNagios(text: string, opts: { pool?: string; httpStatus?: number } = {}): NagiosOutput {
  const status = opts.httpStatus ?? 200;
  if (status !== 200) return { exit: 2, output: `POOLD CRITICAL - bad response from poold /alerts: HTTP ${status}` };
  let state: string;
  let msg: string;
  const body = text.trim();
  if (body.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      return { exit: 3, output: `POOLD UNKNOWN - /alerts sent invalid JSON: ${pluginText((e as Error).message)}` };
    }
    const o = parsed as { status?: unknown; msg?: unknown };
    if (typeof o.status !== 'string' || typeof o.msg !== 'string' || !(o.status in STATE_EXIT)) {
      return { exit: 3, output: `POOLD UNKNOWN - /alerts JSON lacks status (ok|warning|critical) and msg: ${pluginText(body.slice(0, 200))}` };
    }
    state = o.status;
    msg = o.msg;
  } else {
    const m = /^(OK|WARNING|CRITICAL)\b\s*(?:-\s*)?([\s\S]*)$/.exec(body);
    if (!m) return { exit: 3, output: `POOLD UNKNOWN - unrecognised /alerts body: ${pluginText(body.slice(0, 200)) || '(empty)'}` };
    state = m[1].toLowerCase();
    msg = m[2].trim() || 'All pools are healthy';
  }
  let exit = STATE_EXIT[state];
  if (opts.pool !== undefined && exit !== 0) {
    const parts = partsForPool(msg, opts.pool);
    if (parts.length === 0) {
      exit = 0;
      msg = `Pool ${opts.pool} is healthy`;
    } else {
      // A WARNING only speaks of pools being too small; anything else about this pool is critical.
      exit = parts.every((p) => /too small to allow depooling/.test(p)) ? 1 : 2;
      msg = parts.join('; ');
    }
  }
  return { exit, output: `POOLD ${NAGIOS_STATES[exit]} - ${pluginText(msg)}` };
}

/**
 * `poolctl alerts --url URL [--pool P] --nagios`: fetches /alerts and maps it. Never throws: an
 * unreachable poold is CRITICAL, as check_pybal reports a failed fetch. An empty pool means all pools.
 */
export async function fetchAlertsNagios(url: string, opts: { pool?: string; timeoutMs?: number } = {}): Promise<NagiosOutput> {
  const pool = opts.pool === '' ? undefined : opts.pool;
  try {
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    const res = await fetch(url, { headers: { Accept: 'text/plain' }, signal });
    const text = await res.text();
    if (pool !== undefined && res.ok) {
      // /alerts only names pools with problems, so a misspelt --pool would read OK forever:
      // ask poold's pool list (PyBal's /pools, beside /alerts) whether the pool exists at all.
      const pools = await fetch(new URL('pools', new URL('.', url)), { headers: { Accept: 'text/plain' }, signal });
      const names = pools.ok ? (await pools.text()).split('\n').filter(Boolean) : [];
      if (pools.ok && !names.includes(pool)) {
        return { exit: 3, output: `POOLD UNKNOWN - no pool ${pluginText(pool)} at ${pluginText(url)}; pools: ${pluginText(names.join(', '))}` };
      }
    }
    return alertsToNagios(text, { pool, httpStatus: res.status });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.cause?.code ?? err.cause?.message ?? `${err.name}: ${err.message}`;
    return { exit: 2, output: `POOLD CRITICAL - cannot fetch ${pluginText(url)}: ${pluginText(why)}` };
  }
}
