// Check definitions and loopback addresses for the check tests.
import type { CommandCheckDef, DnsCheckDef, HttpCheckDef, IdleConnectionCheckDef, TcpCheckDef } from '../../src/model/types.js';
import { httpCheckDef } from '../helpers/defs.js';

const common = { timeoutMs: 500, intervalMs: 1000, rise: 1, fall: 1 };

export function httpDef(over: Partial<HttpCheckDef> = {}): HttpCheckDef {
  return httpCheckDef({ ...common, unclosedGraceMs: 150, ...over });
}

export function tcpDef(over: Partial<TcpCheckDef> = {}): TcpCheckDef {
  return { name: 'tcp', kind: 'tcp', ...common, ...over };
}

export function idleDef(over: Partial<IdleConnectionCheckDef> = {}): IdleConnectionCheckDef {
  return { name: 'idle', kind: 'idle-connection', ...common, reconnectTimeoutMs: 300, ...over };
}

export function commandDef(argv: string[], over: Partial<CommandCheckDef> = {}): CommandCheckDef {
  return { name: 'cmd', kind: 'command', ...common, argv, ...over };
}

export function dnsDef(over: Partial<DnsCheckDef> = {}): DnsCheckDef {
  return { name: 'dns', kind: 'dns', ...common, query: 'svc.example.test', type: 'A', ...over };
}

/**
 * A random 127.x.y.z address, so that test files running in parallel never share a backend.
 * Bound with port 0, so the port is free by construction.
 */
export function loopbackAddress(): string {
  const r = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));
  return `127.${r(20, 250)}.${r(0, 255)}.${r(1, 254)}`;
}
