// Loads a set of pools files and applies the rules that span files: one definition per dc/service,
// and a host serving one service in only one place.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../../model/errors.js';
import type { ServiceDef } from '../../model/types.js';
import { parsePoolsFile, type LocatedService } from './parse.js';

export interface PoolsLoadResult {
  /** Every service that is valid on its own and not a duplicate. Callers that delete (sync) must also require problems to be empty. */
  services: ServiceDef[];
  /** All problems, ordered by file then position. */
  problems: ConfigProblem[];
}

const POOLS_FILE = /\.ya?ml$/;

function ref(file: string, at: { line: number; col: number }): string {
  return `${file}:${at.line}:${at.col}`;
}

function crossFile(located: LocatedService[], problems: ConfigProblem[]): ServiceDef[] {
  const byService = new Map<string, LocatedService>();
  /** service name → host → where it is already listed. Keyed by name alone: a host lives in one dc. */
  const hostsOf = new Map<string, Map<string, { dc: string; file: string; at: { line: number; col: number } }>>();
  const kept: ServiceDef[] = [];
  for (const s of located) {
    const key = `${s.def.dc}/${s.def.service}`;
    const first = byService.get(key);
    if (first) {
      problems.push({ file: s.file, ...s.at, message: `service ${key} is already defined at ${ref(first.file, first.at)}` });
      continue;
    }
    byService.set(key, s);
    let ok = true;
    const hosts = hostsOf.get(s.def.service) ?? new Map();
    hostsOf.set(s.def.service, hosts);
    for (const host of Object.keys(s.def.servers)) {
      const prev = hosts.get(host);
      const at = s.serverAt[host];
      if (prev) {
        problems.push({
          file: s.file,
          ...at,
          message: `host ${host} is already a server of ${s.def.service} in ${prev.dc} (${ref(prev.file, prev.at)})`,
        });
        ok = false;
      } else hosts.set(host, { dc: s.def.dc, file: s.file, at });
    }
    if (ok) kept.push(s.def);
  }
  return kept;
}

function order(a: ConfigProblem, b: ConfigProblem): number {
  return (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col;
}

/** Parses in-memory files (name → text); the core of loadPools, usable without a file system. */
export function loadPoolsFromTexts(files: ReadonlyArray<{ file: string; text: string }>): PoolsLoadResult {
  const problems: ConfigProblem[] = [];
  const located: LocatedService[] = [];
  for (const f of files) {
    const parsed = parsePoolsFile(f.text, f.file);
    problems.push(...parsed.problems);
    located.push(...parsed.services);
  }
  const services = crossFile(located, problems);
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
