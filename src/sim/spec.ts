// The simulator's spec file: explicit backends and/or ranges of consecutive loopback addresses
// (for 10k-backend benchmarks). Errors say which entry and field is wrong.
//   { "backends": [BackendSpec...],
//     "ranges": [{ "start": "127.x.y.z", "count": N, "port": P, "behaviour": ..., options... }] }
// A range is `count` backends from `start` upward (x.y.z.0 and x.y.z.255 skipped), all on `port`.
import { isIPv4 } from 'node:net';
import { UsageError } from '../model/errors.js';
import { BEHAVIOURS, isBehaviour, type BackendSpec, type BehaviourOptions } from './behaviours.js';

export function expandSpec(raw: unknown, source = 'spec'): BackendSpec[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${source}: expected an object with "backends" and/or "ranges"`);
  const spec = raw as Record<string, unknown>;
  const out: BackendSpec[] = [];
  const backends = spec.backends ?? [];
  if (!Array.isArray(backends)) throw new UsageError(`${source}.backends: expected an array`);
  backends.forEach((b, i) => out.push(backend(b, `${source}.backends[${i}]`)));
  const ranges = spec.ranges ?? [];
  if (!Array.isArray(ranges)) throw new UsageError(`${source}.ranges: expected an array`);
  ranges.forEach((r, i) => {
    const where = `${source}.ranges[${i}]`;
    const { start, count, ...rest } = (r ?? {}) as Record<string, unknown>;
    if (typeof start !== 'string' || !isIPv4(start) || !start.startsWith('127.')) throw new UsageError(`${where}.start: expected a 127.x.y.z address`);
    if (!Number.isInteger(count) || (count as number) < 1) throw new UsageError(`${where}.count: expected a positive integer`);
    let n = ipv4ToInt(start);
    for (let k = 0; k < (count as number); k++) {
      while ((n & 0xff) === 0 || (n & 0xff) === 0xff) n++;
      if (n >>> 24 !== 127) throw new UsageError(`${where}: range runs out of 127/8`);
      out.push(backend({ ...rest, address: intToIpv4(n) }, where));
      n++;
    }
  });
  return out;
}

function backend(raw: unknown, where: string): BackendSpec {
  if (typeof raw !== 'object' || raw === null) throw new UsageError(`${where}: expected an object`);
  const b = raw as Record<string, unknown>;
  if (typeof b.address !== 'string') throw new UsageError(`${where}.address: expected a string`);
  if (!Number.isInteger(b.port) || (b.port as number) < 0 || (b.port as number) > 65535) throw new UsageError(`${where}.port: expected a port number`);
  if (!isBehaviour(b.behaviour)) throw new UsageError(`${where}.behaviour: expected one of ${BEHAVIOURS.join(', ')}; got ${JSON.stringify(b.behaviour)}`);
  return { ...behaviourOptions(b, where), address: b.address, port: b.port as number, behaviour: b.behaviour };
}

export function behaviourOptions(b: Record<string, unknown>, where: string): BehaviourOptions {
  const o: BehaviourOptions = {};
  if (b.service !== undefined) {
    if (typeof b.service !== 'string') throw new UsageError(`${where}.service: expected a string`);
    o.service = b.service;
  }
  for (const k of ['delayMs', 'trickleMs'] as const) {
    if (b[k] === undefined) continue;
    if (typeof b[k] !== 'number' || (b[k] as number) < 0) throw new UsageError(`${where}.${k}: expected milliseconds`);
    o[k] = b[k] as number;
  }
  if (b.anyPath !== undefined) {
    if (typeof b.anyPath !== 'boolean') throw new UsageError(`${where}.anyPath: expected true or false`);
    o.anyPath = b.anyPath;
  }
  if (b.flapEvery !== undefined) {
    const f = b.flapEvery as Record<string, unknown>;
    const ok = typeof f === 'object' && f !== null && (typeof f.requests === 'number' || typeof f.seconds === 'number');
    if (!ok) throw new UsageError(`${where}.flapEvery: expected {"requests": N} or {"seconds": N}`);
    o.flapEvery = { requests: f.requests as number | undefined, seconds: f.seconds as number | undefined };
  }
  return o;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}
