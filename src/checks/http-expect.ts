// Evaluation of an http check's expectations: status ranges and body rules.
import type { BodyRules, StatusRange } from '../model/types.js';
import type { NamedFailure } from './result.js';

/** `200`, `200-299`; several joined by ", " as in `status 404 (expected 200, 301-302)`. */
export function formatStatusRanges(ranges: StatusRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(', ');
}

export function checkStatus(status: number, ranges: StatusRange[]): NamedFailure | null {
  for (const r of ranges) if (status >= r.from && status <= r.to) return null;
  return { code: 'status', message: `status ${status} (expected ${formatStatusRanges(ranges)})` };
}

/** Whether the rules need the body bytes at all (otherwise the parser only counts them). */
export function needsBody(rules: BodyRules | undefined): boolean {
  return !!rules && (rules.contains !== undefined || rules.regex !== undefined || rules.json !== undefined);
}

/** Compiled once per checker so a check does no regex compilation. */
export interface CompiledBodyRules {
  nonEmpty: boolean;
  contains?: string;
  regex?: RegExp;
  json?: { path: string[]; pathText: string; equals: unknown };
}

export function compileBodyRules(rules: BodyRules | undefined): CompiledBodyRules | undefined {
  if (!rules) return undefined;
  return {
    nonEmpty: rules.nonEmpty === true,
    contains: rules.contains,
    regex: rules.regex !== undefined ? new RegExp(rules.regex) : undefined,
    json: rules.json ? { path: rules.json.path === '' ? [] : rules.json.path.split('.'), pathText: rules.json.path, equals: rules.json.equals } : undefined,
  };
}

/**
 * Applies body rules. `totalBytes` is the full body length (the kept `body` may be truncated);
 * emptiness is judged on the full length.
 */
export function checkBody(rules: CompiledBodyRules | undefined, body: Buffer, totalBytes: number): NamedFailure | null {
  if (!rules) return null;
  if (totalBytes === 0 && (rules.nonEmpty || rules.contains !== undefined || rules.regex !== undefined || rules.json)) {
    return { code: 'empty_body', message: 'empty body' };
  }
  if (rules.contains === undefined && !rules.regex && !rules.json) return null;
  const text = body.toString('utf8');
  if (rules.contains !== undefined && !text.includes(rules.contains)) {
    return { code: 'body_mismatch', message: `body does not contain ${JSON.stringify(rules.contains)}` };
  }
  if (rules.regex && !rules.regex.test(text)) {
    return { code: 'body_mismatch', message: `body does not match /${rules.regex.source}/` };
  }
  if (rules.json) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { code: 'body_mismatch', message: `body is not JSON: ${(err as Error).message}` };
    }
    for (const key of rules.json.path) {
      if (value === null || typeof value !== 'object' || !(key in value)) {
        return { code: 'body_mismatch', message: `JSON path ${rules.json.pathText} not found` };
      }
      value = (value as Record<string, unknown>)[key];
    }
    if (!deepEqual(value, rules.json.equals)) {
      return {
        code: 'body_mismatch',
        message: `JSON ${rules.json.pathText} is ${truncate(JSON.stringify(value))} (expected ${truncate(JSON.stringify(rules.json.equals))})`,
      };
    }
  }
  return null;
}

function truncate(s: string | undefined): string {
  if (s === undefined) return 'undefined';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
