// The bodies of PyBal's instrumentation URLs (/pools...), byte for byte, from a PoolView entry.
// PyBal's rules, as observed from its behaviour:
//  - hosts decommissioned in conftool (`inactive`) are not part of PyBal's pool at all;
//  - a host is "partially up" when it is not up but at least one of its checks is;
//  - JSON is Python's json.dumps, dict orders are CPython 2.7's (see py-compat.ts).
import type { FastifyReply } from 'fastify';
import type { EffectiveServer, PoolState } from '../model/types.js';
import {
  PYBAL_SERVER_KEYS,
  pybalHostOrder,
  pybalJsonOrderFromText,
  pybalPoolOrder,
  pyJsonDumps,
  pyObject,
  type PyJsonObject,
} from './py-compat.js';
import type { PoolEntry } from './state-view.js';

export const NOT_FOUND_TEXT = 'The desired url was not found';

// A published PoolState is replaced, never mutated, so its PyBal order can be kept with it
// (about 25 ms for a 10k-host pool; requests for an unchanged state then cost nothing).
const orderCache = new WeakMap<PoolState, string[]>();

/** The hosts PyBal would have in this pool, in PyBal's order. */
export function pybalHosts(entry: PoolEntry): string[] {
  const state = entry.state;
  if (!state) return [];
  let order = orderCache.get(state);
  if (!order) {
    const servers = state.servers;
    order = pybalHostOrder(Object.keys(servers).filter((h) => servers[h].pooledAdmin !== 'inactive'));
    orderCache.set(state, order);
  }
  return order;
}

const jsonOrderCache = new WeakMap<PoolState, string[]>();

/** The same hosts in the order of PyBal's JSON answer (one more dict fill; see py-compat.ts). */
export function pybalJsonHosts(entry: PoolEntry): string[] {
  const state = entry.state;
  if (!state) return [];
  let order = jsonOrderCache.get(state);
  if (!order) {
    order = pybalJsonOrderFromText(pybalHosts(entry));
    jsonOrderCache.set(state, order);
  }
  return order;
}

/** Whether any check of the host is currently up: this instance's verdicts, else any observer's. */
function anyCheckUp(entry: PoolEntry, host: string): boolean {
  const verdicts = entry.verdicts.get(host);
  if (verdicts && verdicts.size > 0) {
    for (const v of verdicts.values()) if (v.result.up) return true;
    return false;
  }
  for (const obs of entry.observations.get(host)?.values() ?? []) {
    for (const c of Object.values(obs.checks)) if (c.up) return true;
  }
  return false;
}

export type HealthWord = 'up' | 'partially up' | 'down';

export function healthWord(entry: PoolEntry, host: string, server: EffectiveServer): HealthWord {
  if (server.up) return 'up';
  return anyCheckUp(entry, host) ? 'partially up' : 'down';
}

/** `enabled/up/pooled`, PyBal's textStatus. */
export function hostStatusText(entry: PoolEntry, host: string): string {
  const s = entry.state!.servers[host];
  return `${s.enabled ? 'enabled' : 'disabled'}/${healthWord(entry, host, s)}/${s.pooled ? 'pooled' : 'not pooled'}`;
}

function hostJson(server: EffectiveServer): PyJsonObject {
  return pyObject(PYBAL_SERVER_KEYS, { pooled: server.pooled, weight: server.weight, up: server.up, enabled: server.enabled });
}

/** Body of GET /pools. */
export function renderPoolList(names: Iterable<string>, json: boolean): string {
  const ordered = pybalPoolOrder(names);
  return json ? pyJsonDumps(ordered) : ordered.join('\n') + '\n';
}

/** Body of GET /pools/<pool>. */
export function renderPool(entry: PoolEntry, json: boolean): string {
  if (json) return pyJsonDumps({ entries: pybalJsonHosts(entry).map((h) => [h, hostJson(entry.state!.servers[h])] as const) });
  return pybalHosts(entry).map((h) => `${h}:\t${hostStatusText(entry, h)}\n`).join('');
}

/** What a /pools... path names, by the rules of PyBal's Twisted resource tree. */
export type PybalPoolsTarget = { kind: 'list' } | { kind: 'pool'; pool: string } | { kind: 'host'; pool: string; host: string } | { kind: 'notFound' };

/** Python 2's urllib.unquote: %XX becomes that byte, anything else (a lone or bad %) stays as is. */
function unquote(segment: string): string {
  if (!segment.includes('%')) return segment;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const hex = segment.slice(i + 1, i + 3);
    if (segment[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(segment[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Resolves a request path the way Twisted walks PyBal's resources: the path (without the query) is
 * split on `/` and each segment unquoted; ServerRoot maps `pools` to PoolsRoot; PoolsRoot and
 * PoolServers answer an empty segment with themselves (so `/pools//` is the pool list and
 * `/pools//cxserver` the pool), a known name with the child, anything else with a 404 leaf; the
 * host resource is a leaf, so whatever follows it is ignored.
 */
export function resolvePoolsPath(rawUrl: string): PybalPoolsTarget {
  const path = rawUrl.split('?', 1)[0];
  const segments = path.slice(1).split('/').map(unquote);
  if (segments[0] !== 'pools') return { kind: 'notFound' };
  let pool: string | undefined;
  for (const seg of segments.slice(1)) {
    if (seg === '') continue;
    if (pool === undefined) pool = seg;
    else return { kind: 'host', pool, host: seg };
  }
  return pool === undefined ? { kind: 'list' } : { kind: 'pool', pool };
}

/** Body of GET /pools/<pool>/<host>; the caller has checked the host is in pybalHosts(entry). */
export function renderHost(entry: PoolEntry, host: string, json: boolean): string {
  return json ? pyJsonDumps(hostJson(entry.state!.servers[host])) : hostStatusText(entry, host) + '\n';
}

/** Body of PyBal's 404. */
export function renderNotFound(json: boolean): string {
  return json ? pyJsonDumps(pyObject(['error'], { error: NOT_FOUND_TEXT })) : NOT_FOUND_TEXT;
}

/**
 * PyBal answers JSON exactly when one Accept header, as sent, is `application/json` (it compares
 * whole header values, so `text/html, application/json;q=0.9` gets text). `rawHeaders` is Node's
 * flat [name, value, ...] list, which keeps repeated Accept headers apart.
 */
export function wantsJson(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'accept' && rawHeaders[i + 1].trim() === 'application/json') return true;
  }
  return false;
}

/**
 * Sends a PyBal body with PyBal's bare content types (`text/plain`, `application/json`, no charset).
 * A Buffer payload keeps fastify from appending `; charset=utf-8` to JSON.
 */
export function sendPybal(reply: FastifyReply, status: number, json: boolean, render: (json: boolean) => string) {
  return reply
    .code(status)
    .header('content-type', json ? 'application/json' : 'text/plain')
    .send(Buffer.from(render(json), 'utf8'));
}
