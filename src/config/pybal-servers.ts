// PyBal server lists (the target of `config = file://...`): one Python dict per line
// (`{ 'host': 'sca1001.eqiad.wmnet', 'weight': 10, 'enabled': True }`), or JSON when the name ends in .json.
// Unlike PyBal, which logs and skips bad lines, every bad line is reported.
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { parsePyLiteral } from './pybal-literal.js';

export interface PybalServerEntry {
  weight: number;
  enabled: boolean;
  line: number;
}

export function parsePybalServerList(text: string, file: string): Record<string, PybalServerEntry> {
  const out: Record<string, PybalServerEntry> = {};
  const problems: ConfigProblem[] = [];
  if (file.endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError([{ file, line: 1, col: 1, message: `invalid JSON server list: ${(e as Error).message}` }]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError([{ file, line: 1, col: 1, message: 'a JSON server list must be an object of host: {enabled, weight}' }]);
    }
    for (const [host, v] of Object.entries(parsed as Record<string, unknown>)) {
      const o = v as { enabled?: unknown; weight?: unknown } | null;
      if (!o || typeof o.weight !== 'number' || typeof o.enabled !== 'boolean') {
        problems.push({ file, line: 1, col: 1, message: `${host}: expected {"enabled": true|false, "weight": N}` });
        continue;
      }
      out[host] = { weight: o.weight, enabled: o.enabled, line: 1 };
    }
  } else {
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = i + 1;
      const s = raw.trim();
      if (s === '' || s.startsWith('#')) return;
      const col = raw.indexOf(s) + 1;
      const r = parsePyLiteral(s);
      if (!r.ok) {
        problems.push({ file, line, col: col + r.offset, message: `not a Python dict: ${r.message}` });
        return;
      }
      const v = r.value as Record<string, unknown>;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        problems.push({ file, line, col, message: "expected { 'host': ..., 'weight': N, 'enabled': True|False }" });
        return;
      }
      if (typeof v.host !== 'string' || typeof v.weight !== 'number' || typeof v.enabled !== 'boolean') {
        problems.push({ file, line, col, message: "needs 'host' (string), 'weight' (number) and 'enabled' (True/False)" });
        return;
      }
      if (out[v.host]) problems.push({ file, line, col, message: `${v.host} already listed at line ${out[v.host].line}` });
      out[v.host] = { weight: v.weight, enabled: v.enabled, line };
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** The local path of a `config =` value (`file:///x` or a bare path), or null for http(s)/etcd URLs. */
export function serverListPath(config: string): string | null {
  if (config.startsWith('file://')) return config.slice('file://'.length);
  if (config.startsWith('/') || config.startsWith('./') || config.startsWith('../')) return config;
  return null;
}
