// Rules the JSON Schema cannot express. Runs on the raw data even when the schema found problems, so one
// load reports everything; every rule checks the type it relies on and skips what the schema already reports.
import { isIPv4, isIPv6 } from 'node:net';
import { parseDuration } from '../../model/duration.js';
import { checkNames } from './check-names.js';
import type { Issue } from './issue.js';
import type { DataPath, Pos } from './yaml-locate.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Durations that must be strictly positive (a zero timeout or interval cannot work). */
const POSITIVE_DURATIONS = ['timeout', 'interval', 'reconnect_timeout'];
const PLACEHOLDER = /\{([^{}]*)\}/g;
const KNOWN_PLACEHOLDERS = new Set(['host', 'address', 'port']);

/** Tells where a path is, for messages that point back at an earlier definition. */
export type Where = (path: DataPath, target?: 'key' | 'value') => Pos;

/** YAML can produce values JSON cannot carry (NaN, .inf, !!binary): the definitions are stored in etcd as JSON. */
function jsonIssues(value: unknown, path: DataPath, out: Issue[]): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) out.push({ path, message: `${String(path.at(-1))}: must be a finite number (got ${value})` });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => jsonIssues(v, [...path, i], out));
  } else if (isObj(value)) {
    if (Object.getPrototypeOf(value) !== Object.prototype) {
      out.push({ path, message: `${String(path.at(-1) ?? 'value')}: not a plain YAML map, list or scalar (tagged value?)` });
      return;
    }
    for (const [k, v] of Object.entries(value)) jsonIssues(v, [...path, k], out);
  } else if (typeof value === 'bigint') {
    out.push({ path, message: `${String(path.at(-1))}: number too large` });
  }
}

function durationIssues(check: Obj, path: DataPath, out: Issue[]): void {
  for (const key of POSITIVE_DURATIONS) {
    const v = check[key];
    if (isStr(v) && parseDuration(v) === 0) out.push({ path: [...path, key], message: `${key} must be greater than 0 (got "${v}")` });
  }
}

function httpIssues(check: Obj, path: DataPath, out: Issue[]): void {
  const expect = check.expect;
  if (isObj(expect)) {
    if (Array.isArray(expect.status)) {
      expect.status.forEach((s, i) => {
        const m = isStr(s) ? /^(\d{3})-(\d{3})$/.exec(s) : null;
        if (m && Number(m[1]) > Number(m[2])) {
          out.push({ path: [...path, 'expect', 'status', i], message: `status range "${s}" is backwards; write "${m[2]}-${m[1]}"` });
        }
      });
    }
    const body = expect.body;
    if (isObj(body) && isStr(body.regex)) {
      try {
        new RegExp(body.regex);
      } catch (err) {
        // Reported, not swallowed: the checker would otherwise fail at run time on every server.
        out.push({ path: [...path, 'expect', 'body', 'regex'], message: `regex does not compile: ${(err as Error).message}` });
      }
    }
  }
  const urlCount = Array.isArray(check.urls) ? check.urls.length : isStr(check.path) ? 1 : 0;
  if (typeof check.max_failures === 'number') {
    if (check.check_all !== true) {
      out.push({
        path: [...path, 'max_failures'],
        target: 'key',
        message: 'max_failures only applies with check_all: true (otherwise one URL is fetched per round)',
      });
    } else if (urlCount > 0 && check.max_failures >= urlCount) {
      out.push({
        path: [...path, 'max_failures'],
        message: `max_failures ${check.max_failures} lets all ${urlCount} URLs fail: the check could never go down`,
      });
    }
  }
  if (isObj(check.headers)) {
    for (const name of Object.keys(check.headers)) {
      if (name.toLowerCase() === 'host') {
        out.push({ path: [...path, 'headers', name], target: 'key', message: 'set the Host header with `host:`, not in headers' });
      }
    }
  }
  if (check.tls !== undefined && check.scheme !== 'https') {
    out.push({ path: [...path, 'tls'], target: 'key', message: 'tls settings need scheme: https' });
  }
}

function commandIssues(check: Obj, path: DataPath, out: Issue[]): void {
  if (!Array.isArray(check.argv)) return;
  const argv0 = check.argv[0];
  if (isStr(argv0) && argv0 !== '' && !argv0.startsWith('/')) {
    out.push({
      path: [...path, 'argv', 0],
      message: `argv[0] must be an absolute path (commands run with an empty environment, so there is no PATH; got "${argv0}")`,
    });
  }
  check.argv.forEach((arg, i) => {
    if (!isStr(arg)) return;
    for (const m of arg.matchAll(PLACEHOLDER)) {
      if (!KNOWN_PLACEHOLDERS.has(m[1])) {
        out.push({ path: [...path, 'argv', i], message: `unknown placeholder {${m[1]}}; use {host}, {address} or {port}` });
      }
    }
  });
}

function dnsIssues(check: Obj, path: DataPath, out: Issue[]): void {
  if (!Array.isArray(check.expect)) return;
  const want = check.type === 'AAAA' ? 'AAAA' : 'A';
  check.expect.forEach((a, i) => {
    if (!isStr(a)) return;
    const ok = want === 'A' ? isIPv4(a) : isIPv6(a);
    if (!ok && (isIPv4(a) || isIPv6(a))) {
      out.push({ path: [...path, 'expect', i], message: `${a} cannot be in the answer to a type ${want} query` });
    }
  });
}

const KIND_RULES: Record<string, (check: Obj, path: DataPath, out: Issue[]) => void> = {
  http: httpIssues,
  command: commandIssues,
  dns: dnsIssues,
};

function serviceIssues(svc: Obj, path: DataPath, where: Where, out: Issue[]): void {
  const checks: unknown[] | undefined = Array.isArray(svc.checks) ? svc.checks : undefined;
  if (checks) {
    checks.forEach((check, i) => {
      if (!isObj(check)) return;
      const cpath = [...path, 'checks', i];
      durationIssues(check, cpath, out);
      if (isStr(check.kind)) KIND_RULES[check.kind]?.(check, cpath, out);
    });
    // Names key events, metrics and Icinga services: two checks with one name would overwrite each other.
    const names = checkNames(checks.map((c) => (isObj(c) ? c : {})));
    const firstIndex = new Map<string, number>();
    names.forEach((name, i) => {
      const first = firstIndex.get(name);
      if (first === undefined) {
        firstIndex.set(name, i);
        return;
      }
      const c = checks[i];
      const explicit = isObj(c) && isStr(c.name);
      const at = where([...path, 'checks', first]);
      out.push({
        path: explicit ? [...path, 'checks', i, 'name'] : [...path, 'checks', first, 'name'],
        message: explicit
          ? `check name "${name}" is already used by the check at line ${at.line}`
          : `check name "${name}" collides with the default name of check ${i + 1} (line ${where([...path, 'checks', i]).line}); pick another`,
      });
    });
  }
  if (isObj(svc.flapping) && isStr(svc.flapping.window) && parseDuration(svc.flapping.window) === 0) {
    out.push({ path: [...path, 'flapping', 'window'], message: `window must be greater than 0 (got "${svc.flapping.window}")` });
  }
  // A service names its pool, or (older form) carries its cluster and servers: never both, never neither.
  if (svc.pool !== undefined) {
    for (const k of ['cluster', 'servers']) {
      if (svc[k] !== undefined) out.push({ path: [...path, k], target: 'key', message: `${k} belongs under pools: when the service names a pool; remove it here` });
    }
  } else if (svc.cluster === undefined) {
    out.push({ path, target: 'key', message: 'a service needs pool: <cluster>/<service> (an entry of pools:), or cluster and servers' });
  } else if (svc.servers === undefined) {
    out.push({ path: [...path, 'cluster'], target: 'key', message: 'with cluster, list the servers too (or name a pool with pool: <cluster>/<service>)' });
  }
  serverIssues(svc.servers, [...path, 'servers'], where, out);
}

function serverIssues(servers: unknown, path: DataPath, where: Where, out: Issue[]): void {
  if (!isObj(servers)) return;
  // Two hosts on one address would be one IPVS real server with two conftool entries.
  const byAddress = new Map<string, string>();
  for (const [host, server] of Object.entries(servers)) {
    if (!isObj(server) || !isStr(server.address)) continue;
    const other = byAddress.get(server.address);
    if (other !== undefined) {
      const at = where([...path, other], 'key');
      out.push({
        path: [...path, host, 'address'],
        message: `address ${server.address} is already used by ${other} (line ${at.line})`,
      });
    } else byAddress.set(server.address, host);
  }
}

/** Every non-schema problem of one file's data. */
export function semanticIssues(data: unknown, where: Where): Issue[] {
  const out: Issue[] = [];
  jsonIssues(data, [], out);
  if (isObj(data) && isObj(data.services)) {
    for (const [name, svc] of Object.entries(data.services)) {
      if (isObj(svc)) serviceIssues(svc, ['services', name], where, out);
    }
  }
  if (isObj(data) && isObj(data.pools)) {
    for (const [name, pool] of Object.entries(data.pools)) {
      if (isObj(pool)) serverIssues(pool.servers, ['pools', name, 'servers'], where, out);
    }
  }
  return out;
}
