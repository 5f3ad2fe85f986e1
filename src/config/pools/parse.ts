// One pools file: YAML → schema → semantic rules → ServiceDefs, every problem located as file:line:col.
import { isPair, isScalar, parseDocument, visit, type Document } from 'yaml';
import type { ConfigProblem } from '../../model/errors.js';
import type { ServiceDef } from '../../model/types.js';
import type { Issue } from './issue.js';
import { normalizeService, type RawService } from './normalize.js';
import { schemaIssues } from './schema.js';
import { semanticIssues } from './semantic.js';
import { LineIndex, locate, type DataPath, type Pos } from './yaml-locate.js';

/** A service as loaded, with where it and its servers are written (for cross-file messages). */
export interface LocatedService {
  def: ServiceDef;
  file: string;
  at: Pos;
  serverAt: Record<string, Pos>;
}

export interface ParsedFile {
  file: string;
  services: LocatedService[];
  problems: ConfigProblem[];
}

/** yaml's own limit on alias expansion stops "billion laughs" documents; keep it explicit. */
const MAX_ALIAS_COUNT = 100;

function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  return a.line - b.line || a.col - b.col || a.message.localeCompare(b.message);
}

function duplicateKeyName(doc: Document, offset: number): string | undefined {
  let name: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.range?.[0] === offset) {
        name = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return name;
}

/**
 * Drops the second and later copies of duplicated keys (already reported), so the first copy is what gets
 * validated: otherwise toJS would keep the last one and problems in the first would go unreported.
 */
function dropDuplicates(doc: Document, offsets: Set<number>): void {
  if (offsets.size === 0) return;
  visit(doc, {
    Pair(_, pair) {
      const start = isPair(pair) && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      return start !== undefined && offsets.has(start) ? visit.REMOVE : undefined;
    },
  });
}

function yamlProblems(doc: Document, lines: LineIndex, file: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lines.pos(e.pos[0]);
    let message = e.message;
    if (e.code === 'DUPLICATE_KEY') {
      const name = duplicateKeyName(doc, e.pos[0]);
      message = name === undefined ? 'duplicate key' : `duplicate key "${name}"`;
    }
    out.push({ file, ...pos, message });
  }
  return out;
}

export function parsePoolsFile(text: string, file: string): ParsedFile {
  const lines = new LineIndex(text);
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const problems = yamlProblems(doc, lines, file);
  // Duplicate keys leave a well-formed tree, so the rest can still be checked; other YAML errors do not.
  const structural = [...doc.errors, ...doc.warnings].some((e) => e.code !== 'DUPLICATE_KEY');
  if (structural) return { file, services: [], problems: problems.sort(byPosition) };
  if (doc.contents === null) {
    problems.push({ file, line: 1, col: 1, message: 'empty file: expected "dc" and "services"' });
    return { file, services: [], problems };
  }

  dropDuplicates(doc, new Set(doc.errors.filter((e) => e.code === 'DUPLICATE_KEY').map((e) => e.pos[0])));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // toJS throws on limits such as alias expansion; that is a problem with the file, reported like the others.
    problems.push({ file, line: 1, col: 1, message: `cannot expand the document: ${(err as Error).message}` });
    return { file, services: [], problems: problems.sort(byPosition) };
  }

  const where = (path: DataPath, target: 'key' | 'value' = 'value') => locate(doc, lines, path, target);
  const issues: Issue[] = [...schemaIssues(data), ...semanticIssues(data, where)];
  const badServices = new Set<string>();
  let fileLevel = problems.length > 0;
  for (const issue of issues) {
    problems.push({ file, ...where(issue.path, issue.target), message: issue.message });
    if (issue.path[0] === 'services' && issue.path.length >= 2) badServices.add(String(issue.path[1]));
    else fileLevel = true;
  }

  const services: LocatedService[] = [];
  if (!fileLevel) {
    const { dc, services: raw } = data as { dc: string; services: Record<string, RawService> };
    for (const [name, svc] of Object.entries(raw)) {
      if (badServices.has(name)) continue;
      const serverAt: Record<string, Pos> = {};
      for (const host of Object.keys(svc.servers)) serverAt[host] = where(['services', name, 'servers', host], 'key');
      services.push({ def: normalizeService(dc, name, svc), file, at: where(['services', name], 'key'), serverAt });
    }
  }
  return { file, services, problems: problems.sort(byPosition) };
}
