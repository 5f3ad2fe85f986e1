// Running a service's checks once, now: used by `poolctl check`, the Icinga plugin and the daemon's
// scheduler (through checkServer), so that all of them judge a server the same way.
import { NotFoundError } from '../model/errors.js';
import type { CheckResult, ServerDef, ServiceDef } from '../model/types.js';
import type { Checker, CheckTarget } from './checker.js';
import { createChecker } from './index.js';
import { resolveAddress } from './resolve.js';
import { downResult } from './result.js';

export interface NamedCheckResult {
  check: string;
  result: CheckResult;
}

export interface ServerCheckReport {
  host: string;
  /** The address checked; '' when it could not be resolved. */
  address: string;
  results: NamedCheckResult[];
  /** Up only if every check is up (PyBal). */
  up: boolean;
}

export interface RunOnceOptions {
  /** Clock, for callers that pass time in; defaults to Date.now. */
  now?: () => number;
}

/** Runs every checker against one target in parallel, each with its own deadline (now + timeoutMs). */
export async function checkServer(checkers: Checker[], target: CheckTarget, now: number = Date.now()): Promise<{ results: NamedCheckResult[]; up: boolean }> {
  const results = await Promise.all(
    checkers.map(async (c) => ({ check: c.def.name, result: await c.check(target, now + c.def.timeoutMs) })),
  );
  return { results, up: results.every((r) => r.result.up) };
}

/** The address to check: the configured one, else the host name resolved by the deadline. */
export async function targetAddress(host: string, server: ServerDef, deadline: number): Promise<{ address: string } | { failure: CheckResult }> {
  if (server.address) return { address: server.address };
  const started = Date.now();
  const r = await resolveAddress(host, deadline);
  if ('failure' in r) return { failure: downResult(r.failure.code, r.failure.message, { totalMs: Date.now() - started }) };
  return r;
}

export async function runChecksOnce(service: ServiceDef, hosts?: string[], opts: RunOnceOptions = {}): Promise<ServerCheckReport[]> {
  const clock = opts.now ?? Date.now;
  const names = hosts ?? Object.keys(service.servers).sort();
  const unknown = names.filter((h) => !(h in service.servers));
  if (unknown.length > 0) {
    throw new NotFoundError(`host ${unknown.join(', ')} is not a server of ${service.dc}/${service.name} (pool ${service.pool.cluster}/${service.pool.service})`, {
      service: service.name,
      hosts: unknown,
    });
  }
  const checkers = service.checks.map(createChecker);
  const longest = Math.max(0, ...service.checks.map((c) => c.timeoutMs));
  try {
    return await Promise.all(
      names.map(async (host): Promise<ServerCheckReport> => {
        const now = clock();
        const addr = await targetAddress(host, service.servers[host], now + longest);
        if ('failure' in addr) {
          const results = checkers.map((c) => ({ check: c.def.name, result: addr.failure }));
          return { host, address: '', results, up: false };
        }
        const { results, up } = await checkServer(checkers, { host, address: addr.address, port: service.lvs.port }, clock());
        return { host, address: addr.address, results, up };
      }),
    );
  } finally {
    await Promise.all(checkers.map((c) => c.close?.()));
  }
}
