// Icinga 2 downtime for a planned depool (the Parsoid lesson: a planned restart paged everyone).
// Icinga being down or refusing must never block a depool: every failure is returned as a warning
// result, never thrown.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { checkServerIdentity } from 'node:tls';
import type { ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';

export interface IcingaApiConfig {
  /** Base URL of the Icinga 2 API, e.g. https://icinga.example.org:5665 */
  url: string;
  user: string;
  password: string;
  /** PEM text of the CA that signed the API certificate; the system CAs are used when absent. */
  ca?: string;
  /** Name the API certificate is issued for, when it differs from the URL host (Icinga node certs carry the node name). */
  serverName?: string;
  /** Per-request time limit. Default 5 s. */
  timeoutMs?: number;
}

export interface DowntimeTarget {
  /** Backend host as named in conftool and Icinga. */
  host: string;
  service: ServiceKey;
}

export interface ScheduleDowntime extends DowntimeTarget {
  actor: string;
  reason: string;
  durationMs: number;
  /** Epoch ms; passed in so callers and tests control the clock. */
  now: number;
}

export interface DowntimeResult {
  ok: boolean;
  /** Set when ok is false (or nothing matched): what went wrong, for the operator. */
  warning?: string;
  /** Downtime names Icinga reported (scheduled) or messages of what it removed. */
  names: string[];
}

interface ApiAnswer {
  status: number;
  body: string;
}

// The filter names the services poold generates for this backend and pool (vars, not display names),
// with values passed as filter_vars so no host or service name can inject filter syntax.
const SERVICE_FILTER = 'host.name == poold_host && service.vars.poold_service == poold_service';

function filterVars(t: DowntimeTarget): Record<string, string> {
  return { poold_host: t.host, poold_service: servicePath(t.service) };
}

function post(cfg: IcingaApiConfig, path: string, body: unknown): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
    const payload = JSON.stringify(body);
    const https = url.protocol === 'https:';
    const serverName = cfg.serverName;
    const req = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: {
          Accept: 'application/json',
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
          Authorization: `Basic ${Buffer.from(`${cfg.user}:${cfg.password}`).toString('base64')}`,
        },
        ...(https
          ? {
              ca: cfg.ca,
              servername: serverName,
              checkServerIdentity: serverName ? (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(serverName, cert) : checkServerIdentity,
            }
          : {}),
        signal: AbortSignal.timeout(cfg.timeoutMs ?? 5000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Reads Icinga's `{"results": [{code, status, name?}]}` answer. */
function results(a: ApiAnswer): Array<{ code?: number; status?: string; name?: string }> | null {
  try {
    const parsed = JSON.parse(a.body) as { results?: unknown };
    return Array.isArray(parsed.results) ? (parsed.results as Array<{ code?: number; status?: string; name?: string }>) : null;
  } catch {
    // A non-JSON body (proxy error page) is reported to the caller below, with its status.
    return null;
  }
}

async function call(cfg: IcingaApiConfig, action: string, body: unknown, what: string): Promise<DowntimeResult> {
  let answer: ApiAnswer;
  try {
    answer = await post(cfg, `v1/actions/${action}`, body);
  } catch (e) {
    const err = e as Error & { code?: string };
    return { ok: false, names: [], warning: `Icinga API ${cfg.url} unreachable, ${what} skipped: ${err.code ?? err.name}: ${err.message}` };
  }
  const res = results(answer);
  // Icinga answers a filter that matched nothing with an empty result list (and HTTP 500 for actions).
  if (res !== null && res.length === 0) return { ok: true, names: [] };
  if (answer.status < 200 || answer.status >= 300 || res === null) {
    return { ok: false, names: [], warning: `Icinga API refused ${what}: HTTP ${answer.status} ${answer.body.slice(0, 300)}` };
  }
  const failed = res.filter((r) => typeof r.code === 'number' && (r.code < 200 || r.code >= 300));
  const names = res.filter((r) => !failed.includes(r)).map((r) => r.name ?? r.status ?? '');
  if (failed.length > 0) return { ok: false, names, warning: `Icinga API: ${what} failed for ${failed.length} object(s): ${failed.map((f) => f.status).join('; ')}` };
  return { ok: true, names };
}

/** POST /v1/actions/schedule-downtime for the backend's services of this pool (fixed, from now). */
export async function scheduleDowntime(cfg: IcingaApiConfig, d: ScheduleDowntime): Promise<DowntimeResult> {
  const start = Math.floor(d.now / 1000);
  const what = `downtime for ${d.host} in ${servicePath(d.service)}`;
  const r = await call(
    cfg,
    'schedule-downtime',
    {
      type: 'Service',
      filter: SERVICE_FILTER,
      filter_vars: filterVars(d),
      author: d.actor,
      comment: d.reason,
      start_time: start,
      end_time: start + Math.ceil(d.durationMs / 1000),
      fixed: true,
      duration: Math.ceil(d.durationMs / 1000),
    },
    what,
  );
  if (r.ok && r.names.length === 0) {
    return { ok: false, names: [], warning: `Icinga has no service for ${d.host} with vars.poold_service = "${servicePath(d.service)}"; no downtime scheduled (is the generated Icinga config deployed?)` };
  }
  return r;
}

/** POST /v1/actions/remove-downtime: every downtime on the backend's services of this pool. */
export async function removeDowntime(cfg: IcingaApiConfig, t: DowntimeTarget): Promise<DowntimeResult> {
  return call(cfg, 'remove-downtime', { type: 'Downtime', filter: SERVICE_FILTER, filter_vars: filterVars(t) }, `removing downtime for ${t.host} in ${servicePath(t.service)}`);
}
