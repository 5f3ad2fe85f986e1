// Keys for the scheduler: a subscriber key per (service, host, check name), and a dedupe key per
// identical probe so the same backend checked the same way by several pools is probed once.

import type { CheckDef, ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';

/** Fields that change how a subscriber interprets results, not what is sent on the wire. */
const NOT_PART_OF_PROBE = new Set(['name', 'rise', 'fall']);

const canonicalCache = new WeakMap<CheckDef, string>();

function canonicalJson(value: unknown, top: boolean): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, false)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined || (top && NOT_PART_OF_PROBE.has(k))) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k], false)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The probe a check sends, independent of key order and of name/rise/fall. Cached per def object. */
export function canonicalProbe(def: CheckDef): string {
  let s = canonicalCache.get(def);
  if (s === undefined) {
    s = canonicalJson(def, true);
    canonicalCache.set(def, s);
  }
  return s;
}

/** The port a check connects to: its own, else the service's LVS port. */
export function effectivePort(def: CheckDef, lvsPort: number): number {
  return 'port' in def && typeof def.port === 'number' ? def.port : lvsPort;
}

/**
 * Dedupe key. The host name is part of it because http checks default their Host header to it and
 * command checks substitute it into argv; pools sharing a machine name it identically anyway.
 */
export function probeKey(host: string, address: string, port: number, def: CheckDef): string {
  return `${address}|${port}|${host}|${canonicalProbe(def)}`;
}

/** Subscriber key: `dc/name/host/check`. */
export function targetKey(service: ServiceKey, host: string, checkName: string): string {
  return `${servicePath(service)}/${host}/${checkName}`;
}
