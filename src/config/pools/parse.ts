// One pools file: YAML → schema → semantic rules → pools and LVS services, every problem located as file:line:col.
import { isScalar, parseDocument, visit, type Document } from 'yaml';
import type { ConfigProblem } from '../../model/errors.js';
import type { PoolKey, ServerDef, ServiceDef } from '../../model/types.js';
import type { Issue } from './issue.js';
import { normalizeServers, normalizeService, poolRefOf, type RawPool, type RawService } from './normalize.js';
import { schemaIssues } from './schema.js';
import { semanticIssues } from './semantic.js';
import { LineIndex, locate, type DataPath, type Pos } from './yaml-locate.js';

/**
 * An LVS service as loaded, with where it is written (for cross-file messages). Its `servers` are
 * filled in by the loader from its pool, which may be defined in another file of the same dc.
 */
export interface LocatedService {
  def: ServiceDef;
  file: string;
  at: Pos;
  /** Where the pool is named (`pool:`, or `cluster:` in the older form). */
  poolAt: Pos;
  /** Where its MED is set (`lvs.bgp_med`), else its VIP (`lvs.ip`): what a MED disagreement points at. */
  medAt: Pos;
}

/** A conftool pool as loaded: from `pools:`, or from a service written in the older form. */
export interface LocatedPool {
  key: PoolKey;
  servers: Record<string, ServerDef>;
  file: string;
  at: Pos;
  serverAt: Record<string, Pos>;
}

export interface ParsedFile {
  file: string;
  services: LocatedService[];
  pools: LocatedPool[];
  /** Pools (`<dc>/<cluster>/<service>`) this file defines with problems: services naming them are not loaded either. */
  badPools: string[];
  problems: ConfigProblem[];
}

/** yaml's own limit on alias expansion stops "billion laughs" documents; keep it explicit. */
const MAX_ALIAS_COUNT = 100;

function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  return a.line - b.line || a.col - b.col || a.message.localeCompare(b.message);
}

/**
 * Reports keys repeated in one map and removes the later copies, so the first copy is what gets validated
 * (toJS would otherwise keep the last and hide problems in the first). Done here rather than with yaml's
 * uniqueKeys, which compares every pair of keys: minutes for a 10k-server pool. Keys are compared as
 * the strings they become in JSON, so `1` and "1" collide too.
 */
function duplicateKeys(doc: Document, lines: LineIndex, file: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      map.items = map.items.filter((pair) => {
        if (!isScalar(pair.key)) return true;
        const name = String(pair.key.value);
        if (!seen.has(name)) {
          seen.add(name);
          return true;
        }
        out.push({ file, ...lines.pos(pair.key.range?.[0] ?? 0), message: `duplicate key "${name}"` });
        return false;
      });
    },
  });
  return out;
}

function yamlProblems(doc: Document, lines: LineIndex, file: string): ConfigProblem[] {
  return [...doc.errors, ...doc.warnings].map((e) => ({ file, ...lines.pos(e.pos[0]), message: e.message }));
}

export function parsePoolsFile(text: string, file: string): ParsedFile {
  const lines = new LineIndex(text);
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  const problems = yamlProblems(doc, lines, file);
  // After a syntax error the tree is a guess: checking it would mostly report the guess.
  if (problems.length > 0) return { file, services: [], pools: [], badPools: [], problems: problems.sort(byPosition) };
  problems.push(...duplicateKeys(doc, lines, file));
  if (doc.contents === null) {
    problems.push({ file, line: 1, col: 1, message: 'empty file: expected "dc" and "services"' });
    return { file, services: [], pools: [], badPools: [], problems };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // toJS throws on limits such as alias expansion; that is a problem with the file, reported like the others.
    problems.push({ file, line: 1, col: 1, message: `cannot expand the document: ${(err as Error).message}` });
    return { file, services: [], pools: [], badPools: [], problems: problems.sort(byPosition) };
  }

  const where = (path: DataPath, target: 'key' | 'value' = 'value') => locate(doc, lines, path, target);
  const issues: Issue[] = [...schemaIssues(data), ...semanticIssues(data, where)];
  const badServices = new Set<string>();
  const badPoolNames = new Set<string>();
  let fileLevel = problems.length > 0;
  for (const issue of issues) {
    problems.push({ file, ...where(issue.path, issue.target), message: issue.message });
    if (issue.path[0] === 'services' && issue.path.length >= 2) badServices.add(String(issue.path[1]));
    else if (issue.path[0] === 'pools' && issue.path.length >= 2) badPoolNames.add(String(issue.path[1]));
    else fileLevel = true;
  }

  const services: LocatedService[] = [];
  const pools: LocatedPool[] = [];
  const badPools: string[] = [];
  if (!fileLevel) {
    const { dc, services: raw, pools: rawPools = {} } = data as { dc: string; services: Record<string, RawService>; pools?: Record<string, RawPool> };
    const locatePool = (key: PoolKey, servers: RawPool['servers'], path: DataPath): LocatedPool => {
      const serverAt: Record<string, Pos> = {};
      for (const host of Object.keys(servers)) serverAt[host] = where([...path, 'servers', host], 'key');
      return { key, servers: normalizeServers(servers), file, at: where(path, 'key'), serverAt };
    };
    for (const [ref, pool] of Object.entries(rawPools)) {
      const { cluster, service } = poolRefOf('', { pool: ref });
      if (badPoolNames.has(ref)) badPools.push(`${dc}/${ref}`);
      else pools.push(locatePool({ dc, cluster, service }, pool.servers, ['pools', ref]));
    }
    for (const [name, svc] of Object.entries(raw)) {
      if (badServices.has(name)) {
        // A service in the older form defines its pool: with it broken, so is the pool. (A broken service
        // may be null or hold a non-string pool: look at it only once it is known to be an older-form map.)
        if (svc !== null && typeof svc === 'object' && svc.pool === undefined) {
          const ref = poolRefOf(name, svc);
          badPools.push(`${dc}/${ref.cluster}/${ref.service}`);
        }
        continue;
      }
      const ref = poolRefOf(name, svc);
      if (svc.pool === undefined) pools.push(locatePool({ dc, ...ref }, svc.servers ?? {}, ['services', name]));
      const poolAt = where(['services', name, svc.pool !== undefined ? 'pool' : 'cluster']);
      const medAt = where(['services', name, 'lvs', svc.lvs.bgp_med !== undefined ? 'bgp_med' : 'ip']);
      services.push({ def: normalizeService(dc, name, svc, {}), file, at: where(['services', name], 'key'), poolAt, medAt });
    }
  }
  return { file, services, pools, badPools, problems: problems.sort(byPosition) };
}
