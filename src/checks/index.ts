// The one place that maps a CheckDef to its Checker.
import type { CheckDef } from '../model/types.js';
import type { Checker } from './checker.js';
import { CommandChecker } from './command.js';
import { DnsChecker } from './dns.js';
import { HttpChecker } from './http.js';
import { IdleConnectionChecker } from './idle-connection.js';
import { TcpChecker } from './tcp.js';

/**
 * Creates the checker for one check definition. One checker serves every target of the service;
 * idle-connection and keep-alive http keep per-target state inside it, so create it once per
 * (service, check) and call close() when the check goes away.
 * Throws PooldError for definitions that cannot work (no urls, unreadable CA file, empty argv).
 */
export function createChecker(def: CheckDef): Checker {
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

export type { Checker, CheckTarget } from './checker.js';
