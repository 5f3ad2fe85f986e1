// Field checks shared by the decoders of stored values (src/store/decode.ts) and of poold's API
// answers read by the LVS agent. Every failure is an InvalidStoredValueError naming where the value
// came from (an etcd key, or a URL) and the field, so an operator knows what to fix.
import { InvalidStoredValueError } from '../model/errors.js';

export type Obj = Record<string, unknown>;

export function fail(where: string, what: string): never {
  throw new InvalidStoredValueError(`${where}: ${what}`, { where });
}

export function parseJson(raw: string, where: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    // JSON.parse says only "at position 16": name the key, and show the start of the value.
    throw new InvalidStoredValueError(`${where}: not valid JSON (${(err as Error).message}): ${JSON.stringify(raw.slice(0, 80))}`, { where }, { cause: err });
  }
}

export function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'expected an object');
  return v as Obj;
}

export function str(o: Obj, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') fail(where, `"${k}" must be a non-empty string`);
  return v;
}

export function int(o: Obj, k: string, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(where, `"${k}" must be an integer ${min}..${max}`);
  return v;
}

export function num(o: Obj, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `"${k}" must be a number`);
  return v;
}

export function bool(o: Obj, k: string, where: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(where, `"${k}" must be true or false`);
  return v;
}

/** An optional string field: absent is `fallback`; present must be a string. */
export function optStr(o: Obj, k: string, where: string, fallback: string): string {
  const v = o[k];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') fail(where, `"${k}" must be a string`);
  return v;
}
