// The one place that maps a CheckDef to its Checker.
import { errorMessage } from '../model/errors.js';
import type { CheckDef, CheckResult } from '../model/types.js';
import type { CheckDone, Checker, CheckTarget } from './checker.js';
import { CommandChecker } from './command.js';
import { DnsChecker } from './dns.js';
import { HttpChecker } from './http.js';
import { IdleConnectionChecker } from './idle-connection.js';
import { resolverStaleFinding } from '../model/resolver-stale.js';
import { isIpLiteral, nameResolver } from './resolve.js';
import { downResult } from './result.js';
import { TcpChecker } from './tcp.js';

/**
 * Creates the checker for one check definition. One checker serves every target of the service;
 * idle-connection and keep-alive http keep per-target state inside it, so create it once per
 * (service, check) and call close() when the check goes away.
 * Throws PooldError for definitions that cannot work (no urls, unreadable CA file, empty argv).
 */
export function createChecker(def: CheckDef): Checker {
  return guarded(build(def));
}

function build(def: CheckDef): Checker {
  switch (def.kind) {
    case 'http':
      return new HttpChecker(def);
    case 'tcp':
      return new TcpChecker(def);
    case 'idle-connection':
      return new IdleConnectionChecker(def);
    case 'command':
      return new CommandChecker(def);
    case 'dns':
      return new DnsChecker(def);
  }
}

/**
 * Backend behaviour never throws, but a bad target (port 70000, a NUL byte in an argv) makes node
 * throw synchronously. The scheduler must get a result, not an exception: such errors become a down
 * result with code `error` that names the check and the cause.
 */
function guarded(inner: Checker): Checker {
  const fail = (err: unknown): CheckResult =>
    downResult('error', `${inner.def.kind} check ${inner.def.name} could not run: ${errorMessage(err)}`, { totalMs: 0 });
  return {
    def: inner.def,
    check(target, deadline) {
      try {
        return inner.check(target, deadline).then((r) => noteStaleName(inner.def, target.address, r)).catch(fail);
      } catch (err) {
        return Promise.resolve(fail(err));
      }
    },
    // The scheduler's path (Checker.run): the same results as check() above, without its promises.
    run(target: CheckTarget, deadline: number, done: CheckDone) {
      const finish: CheckDone = (r, err) => done(r === undefined ? fail(err) : noteStaleName(inner.def, target.address, r));
      try {
        if (inner.run) inner.run(target, deadline, finish);
        else inner.check(target, deadline).then((r) => finish(r), (err: unknown) => finish(undefined, err));
      } catch (err) {
        // run() must not call done before it returns.
        queueMicrotask(() => done(fail(err)));
      }
    },
    close: inner.close ? () => inner.close!() : undefined,
  };
}

/**
 * A check that ran at a name's last-known address (the resolver is failing for it) says so with a
 * warning finding, which reaches the published state and /alerts. Command checks get the name and
 * resolve it themselves, so they are left alone.
 */
function noteStaleName(def: CheckDef, address: string, r: CheckResult): CheckResult {
  if (def.kind === 'command' || isIpLiteral(address)) return r;
  const stale = nameResolver().staleInfo(address);
  return stale ? { ...r, findings: [...r.findings, resolverStaleFinding(address, stale.address)] } : r;
}

export type { Checker, CheckTarget } from './checker.js';
