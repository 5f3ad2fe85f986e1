// Loads a set of pools files and applies the rules that span files: one definition per pool and per
// LVS service in a dc, a host in one dc, every LVS service's pool defined, and one MED per VIP in a dc.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../../model/errors.js';
import { poolOf, poolPath, servicePath, type ServiceDef } from '../../model/types.js';
import { parsePoolsFile, type LocatedPool, type LocatedService, type ParsedFile } from './parse.js';
import { vipMedProblems } from './vip-med.js';
import type { Pos } from './yaml-locate.js';

export interface PoolsLoadResult {
  /** Every LVS service that is valid, not a duplicate, and whose pool is valid. Callers that delete (sync) must also require problems to be empty. */
  services: ServiceDef[];
  /** All problems, ordered by file then position. */
  problems: ConfigProblem[];
}

const POOLS_FILE = /\.ya?ml$/;

function ref(file: string, at: { line: number; col: number }): string {
  return `${file}:${at.line}:${at.col}`;
}

/**
 * Rules across files: one definition per pool and per LVS service in a dc; a host lives in one dc; every
 * service's pool is defined. Fills each service's `servers` from its pool (one shared, read-only object).
 */
function crossFile(files: readonly ParsedFile[], problems: ConfigProblem[]): ServiceDef[] {
  const pools = new Map<string, LocatedPool>();
  const badPools = new Set(files.flatMap((f) => f.badPools));
  /** host → the dc and place it is first listed in (conftool keeps a host in one dc). */
  const hostDc = new Map<string, { dc: string; file: string; at: Pos }>();
  for (const p of files.flatMap((f) => f.pools)) {
    const path = poolPath(p.key);
    const first = pools.get(path);
    if (first) {
      problems.push({ file: p.file, ...p.at, message: `pool ${path} is already defined at ${ref(first.file, first.at)}` });
      badPools.add(path);
      continue;
    }
    let ok = true;
    for (const host of Object.keys(p.servers)) {
      const prev = hostDc.get(host);
      if (prev !== undefined && prev.dc !== p.key.dc) {
        problems.push({ file: p.file, ...p.serverAt[host], message: `host ${host} is already a server in dc ${prev.dc} (${ref(prev.file, prev.at)}); a host lives in one dc` });
        ok = false;
      } else if (prev === undefined) hostDc.set(host, { dc: p.key.dc, file: p.file, at: p.serverAt[host] });
    }
    if (ok) pools.set(path, p);
    else badPools.add(path);
  }

  const byService = new Map<string, LocatedService>();
  const kept: ServiceDef[] = [];
  for (const s of files.flatMap((f) => f.services)) {
    const key = servicePath(s.def);
    const first = byService.get(key);
    if (first) {
      problems.push({ file: s.file, ...s.at, message: `LVS service ${key} (PyBal section ${s.def.name}) is already defined at ${ref(first.file, first.at)}` });
      continue;
    }
    byService.set(key, s);
    const path = poolPath(poolOf(s.def));
    const pool = pools.get(path);
    if (pool === undefined) {
      // A pool with problems of its own is already reported; do not report every service over it again.
      if (!badPools.has(path)) {
        problems.push({ file: s.file, ...s.poolAt, message: `pool ${s.def.pool.cluster}/${s.def.pool.service} is not defined under pools: of dc ${s.def.dc}` });
      }
      continue;
    }
    kept.push({ ...s.def, servers: pool.servers });
  }
  // One MED per VIP in a dc, as PyBal requires (vip-med.ts); services stay listed, sync refuses on problems.
  problems.push(...vipMedProblems([...byService.values()]));
  return kept;
}

function order(a: ConfigProblem, b: ConfigProblem): number {
  return (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col;
}

/** Parses in-memory files (name → text); the core of loadPools, usable without a file system. */
export function loadPoolsFromTexts(files: ReadonlyArray<{ file: string; text: string }>): PoolsLoadResult {
  const problems: ConfigProblem[] = [];
  const parsed = files.map((f) => parsePoolsFile(f.text, f.file));
  for (const p of parsed) problems.push(...p.problems);
  const services = crossFile(parsed, problems);
  return { services, problems: problems.sort(order) };
}

async function listDir(dir: string, problems: ConfigProblem[]): Promise<string[]> {
  try {
    const names = (await readdir(dir)).filter((n) => POOLS_FILE.test(n)).sort();
    // An empty directory must not "parse cleanly": sync would then remove every host.
    if (names.length === 0) problems.push({ file: dir, line: 1, col: 1, message: 'no *.yaml pools files in this directory' });
    return names.map((n) => join(dir, n));
  } catch (err) {
    problems.push({ file: dir, line: 1, col: 1, message: `cannot read directory: ${(err as Error).message}` });
    return [];
  }
}

/**
 * Loads every `*.yaml`/`*.yml` of a directory (not recursive), or the given files.
 * Never throws for bad input: every problem is returned, located as file:line:col.
 */
export async function loadPools(source: string | readonly string[]): Promise<PoolsLoadResult> {
  const problems: ConfigProblem[] = [];
  const paths = typeof source === 'string' ? await listDir(source, problems) : [...source];
  const texts: Array<{ file: string; text: string }> = [];
  for (const file of paths) {
    try {
      texts.push({ file, text: await readFile(file, 'utf8') });
    } catch (err) {
      problems.push({ file, line: 1, col: 1, message: `cannot read file: ${(err as Error).message}` });
    }
  }
  const result = loadPoolsFromTexts(texts);
  return { services: result.services, problems: [...problems, ...result.problems].sort(order) };
}

/** loadPools, but any problem is a ConfigError carrying all of them. */
export async function loadPoolsOrThrow(source: string | readonly string[]): Promise<ServiceDef[]> {
  const { services, problems } = await loadPools(source);
  if (problems.length > 0) throw new ConfigError(problems);
  return services;
}

/** One file's text: for tests, fuzzing and editors. Cross-file rules need loadPools. */
export function parsePoolsText(text: string, file: string): PoolsLoadResult {
  return loadPoolsFromTexts([{ file, text }]);
}
