// Runs pools.schema.json (the same file editors use) and turns ajv errors into located, readable issues.
import { isIPv4, isIPv6 } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import poolsSchema from '../pools.schema.json' with { type: 'json' };
import type { Issue } from './issue.js';
import { didYouMean } from './suggest.js';
import type { DataPath } from './yaml-locate.js';

export { poolsSchema };

/** Compiled once, on first use: compiling costs tens of ms that poolctl commands not reading pools should not pay. */
let compiled: ValidateFunction | undefined;

/** An ajv instance that understands the schema's editor-facing extras; exported so tests can run the schema alone. */
export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, strictRequired: false });
  // Non-standard message keywords that VS Code / yaml-language-server show; here only read back from errors.
  ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  ajv.addFormat('ipv4', (s: string) => isIPv4(s));
  ajv.addFormat('ipv6', (s: string) => isIPv6(s));
  return ajv;
}

function validator(): ValidateFunction {
  compiled ??= createAjv().compile(poolsSchema);
  return compiled;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `weight`, `status[1]`, `checks[0]`: the field an error is about, for messages that don't name it. */
function label(path: DataPath): string {
  let i = path.length - 1;
  let suffix = '';
  while (i >= 0 && /^\d+$/.test(String(path[i]))) suffix = `[${path[i--]}]` + suffix;
  return i >= 0 ? `${path[i]}${suffix}` : suffix;
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a map';
  if (typeof value === 'number') return String(value); // JSON.stringify(NaN) would say null
  return JSON.stringify(value);
}

type SchemaNode = Record<string, unknown>;

/** Keys people put one level too high; when one shows up where it is unknown, say where it belongs. */
const BELONGS_UNDER: Record<string, string> = {
  status: 'expect',
  body: 'expect',
  non_empty: 'expect.body',
  contains: 'expect.body',
  regex: 'expect.body',
  json: 'expect.body',
  ip: 'lvs',
  scheduler: 'lvs',
  protocol: 'lvs',
  weight: 'servers.<host>',
  address: 'servers.<host>',
  verify: 'tls',
  sni: 'tls',
  transitions: 'flapping',
  window: 'flapping',
};

function customMessage(e: ErrorObject): string | undefined {
  const parent = e.parentSchema as SchemaNode | undefined;
  const m = parent?.errorMessage;
  return typeof m === 'string' ? m : undefined;
}

function withLabel(path: DataPath, message: string): string {
  const l = label(path);
  if (l === '' || message.startsWith(l)) return message;
  return `${l}: ${message}`;
}

function describe(e: ErrorObject, path: DataPath): Issue | undefined {
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((parent.properties ?? {}) as SchemaNode);
      const under = BELONGS_UNDER[key];
      const hint = didYouMean(key, allowed) || (under ? `; it belongs under ${under}` : ` (allowed: ${allowed.join(', ')})`);
      return { path: [...path, key], target: 'key', message: `unknown key "${key}"${hint}` };
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const where = path.length ? ` in ${label(path)}` : '';
      return { path, target: 'key', message: `missing required key "${missing}"${where}` };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
      return { path, message: withLabel(path, `must be one of ${allowed.join(', ')} (got ${show(e.data)})${hint}`) };
    }
    case 'not':
      // Only used for "this key may not appear together with that one": point at the key.
      return { path, target: 'key', message: customMessage(e) ?? `${label(path)} is not allowed here` };
  }
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    // An invalid map key (service or host name): ajv reports it at the map; point at the key itself.
    const msg = customMessage(e) ?? e.message ?? 'invalid name';
    return { path: [...path, propertyName], target: 'key', message: `invalid key "${propertyName}": ${msg}` };
  }
  if (path.length === 0 && e.keyword === 'type') {
    return { path, message: `a pools file must be a map with "dc" and "services" (got ${show(e.data)})` };
  }
  const msg = customMessage(e) ?? `${label(path)} ${e.message ?? 'is invalid'}`.trim();
  const got = e.data === null || typeof e.data !== 'object' ? ` (got ${show(e.data)})` : '';
  return { path, message: withLabel(path, msg + got) };
}

/** Drops the noise ajv adds around the real error: if/then wrappers, propertyNames wrappers, anyOf branch failures. */
function relevant(errors: ErrorObject[]): ErrorObject[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  return errors.filter((e) => {
    if (e.keyword === 'if' || e.keyword === 'propertyNames') return false;
    return !anyOfs.some(
      (a) => a !== e && e.schemaPath.startsWith(`${a.schemaPath}/`) && e.instancePath.startsWith(a.instancePath),
    );
  });
}

/** Validates one parsed file against the schema. */
export function schemaIssues(data: unknown): Issue[] {
  const validate = validator();
  if (validate(data)) return [];
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const e of relevant(validate.errors ?? [])) {
    const issue = describe(e, decodePointer(e.instancePath));
    if (!issue) continue;
    const id = `${issue.path.join('\u0000')}|${issue.target}|${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}
