// Who must confirm each step of a rolling operation (issue 14, item 6). The published state says
// what the leader decided; it does not say that every LVS host applied it, nor that every poold
// serves it. A rolling operation that goes on while one LVS agent is frozen can leave two hosts out
// of IPVS there (the next depool applied, the last repool not), or a host in IPVS while it restarts.
// So the operator names the confirmers, and the operation waits for every one of them:
//   --confirm-agents URL,...  each LVS agent's /status: the service reconciled (result noop or
//                             applied, read back from IPVS) at a published revision >= the one
//                             that (de)pooled the host, with the host out of (or back in) its
//                             pooledHosts;
//   --confirm-poold URL,...   each poold's /v1/pools/<dc>/<name>: its served state at such a
//                             revision with the host's effective `pooled` as wanted.
// Before each host is depooled every confirmer must answer (a confirmer already unreachable stops
// the operation with nothing changed); after the depool and after the repool every confirmer must
// confirm within --confirm-timeout. A confirmer that cannot be reached or does not confirm stops the
// operation before the next host, and the failure names each confirmer and what it did not confirm.
import { UsageError } from '../model/errors.js';
import type { ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';

export interface Confirmer {
  kind: 'agent' | 'poold';
  url: string;
}

export interface Unconfirmed extends Confirmer {
  problem: string;
}

/** Parses --confirm-agents / --confirm-poold: comma-separated http(s) base URLs. */
export function parseConfirmers(kind: Confirmer['kind'], text: string | undefined): Confirmer[] {
  if (text === undefined) return [];
  const urls = text.split(',').map((u) => u.trim().replace(/\/+$/, '')).filter((u) => u !== '');
  const flag = kind === 'agent' ? '--confirm-agents' : '--confirm-poold';
  if (urls.length === 0) throw new UsageError(`${flag}: no URL in '${text}'`);
  for (const u of urls) if (!/^https?:\/\/[^/]+$/.test(u)) throw new UsageError(`${flag}: '${u}' is not an http(s) base URL (e.g. http://lvs1001:9095)`, { url: u });
  return urls.map((url) => ({ kind, url }));
}

export function describeConfirmer(c: Confirmer): string {
  return `${c.kind === 'agent' ? 'LVS agent' : 'poold'} ${c.url}`;
}

/** What a confirmer says about one host of one service, or why it says nothing. */
type Answer = { ok: true } | { ok: false; problem: string };

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new Error(`unreachable (${why})`, { cause: err });
  }
  const body = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}: ${body.slice(0, 200)}`);
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new Error(`not JSON from ${url}: ${body.slice(0, 200)}`, { cause: err });
  }
}

interface AgentStatusBody {
  lastReconcile?: { result?: string } | null;
  services?: { service?: string; revision?: number; skipped?: string; pooledHosts?: string[] }[];
}

interface PooldPoolBody {
  revision?: number | null;
  hosts?: { host?: string; effective?: { pooled?: boolean } }[];
}

/**
 * One look at one confirmer. `pooled`: undefined only checks that it answers for the service (the
 * check before a depool); true/false: the host must be in/out, at `minRevision` or later.
 */
export async function ask(c: Confirmer, svc: ServiceKey, host: string, pooled: boolean | undefined, minRevision: number, timeoutMs: number): Promise<Answer> {
  const path = servicePath(svc);
  try {
    if (c.kind === 'agent') {
      const st = (await getJson(`${c.url}/status`, timeoutMs)) as AgentStatusBody;
      const s = st.services?.find((x) => x.service === path);
      if (s === undefined) return { ok: false, problem: `does not serve ${path}` };
      if (s.skipped !== undefined) return { ok: false, problem: `skips ${path}: ${s.skipped}` };
      if (pooled === undefined) return { ok: true };
      const result = st.lastReconcile?.result;
      if (result !== 'noop' && result !== 'applied') return { ok: false, problem: `its last reconcile was ${result ?? 'none'}, not applied to IPVS` };
      if ((s.revision ?? -1) < minRevision) return { ok: false, problem: `has applied ${path} at revision ${s.revision ?? 'none'}, not yet ${minRevision}` };
      if (!Array.isArray(s.pooledHosts)) return { ok: false, problem: 'its /status lists no pooledHosts (an older agent?)' };
      const inIpvs = s.pooledHosts.includes(host);
      if (inIpvs !== pooled) return { ok: false, problem: `${host} is still ${inIpvs ? 'in' : 'out of'} IPVS for ${path}` };
      return { ok: true };
    }
    const p = (await getJson(`${c.url}/v1/pools/${encodeURIComponent(svc.dc)}/${encodeURIComponent(svc.name)}`, timeoutMs)) as PooldPoolBody;
    if (pooled === undefined) return { ok: true };
    if ((p.revision ?? -1) < minRevision) return { ok: false, problem: `serves ${path} at revision ${p.revision ?? 'none'}, not yet ${minRevision}` };
    const h = p.hosts?.find((x) => x.host === host);
    if (h?.effective?.pooled !== pooled) return { ok: false, problem: `still serves ${host} as ${h?.effective?.pooled === true ? 'pooled' : h === undefined ? 'unknown' : 'not pooled'}` };
    return { ok: true };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

/**
 * Polls every confirmer until each has confirmed (or, with `pooled` undefined, answered) or
 * `timeoutMs` passes; returns those that did not, each with its last problem ([] = all confirmed).
 */
export async function confirmAll(confirmers: readonly Confirmer[], svc: ServiceKey, host: string, pooled: boolean | undefined,
  minRevision: number, timeoutMs: number): Promise<Unconfirmed[]> {
  const until = Date.now() + timeoutMs;
  let pending = [...confirmers];
  const last = new Map<Confirmer, string>();
  for (;;) {
    const remaining = Math.max(200, until - Date.now());
    const answers = await Promise.all(pending.map((c) => ask(c, svc, host, pooled, minRevision, Math.min(2000, remaining))));
    pending = pending.filter((c, i) => {
      const a = answers[i];
      if (!a.ok) last.set(c, a.problem);
      return !a.ok;
    });
    if (pending.length === 0) return [];
    if (Date.now() >= until) return pending.map((c) => ({ ...c, problem: last.get(c) ?? 'no answer' }));
    await new Promise((r) => setTimeout(r, 200));
  }
}
