// The tcp check kind: a connect, nothing more. Shared with idle-connection via connectOnce().
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CheckResult, TcpCheckDef } from '../model/types.js';
import type { Checker, CheckTarget } from './checker.js';
import { resolveAddress } from './resolve.js';
import { classifySocketError, downResult, hostPort, ms, upResult, type NamedFailure } from './result.js';

export type ConnectOutcome = { socket: net.Socket; connectMs: number } | { failure: NamedFailure; connectMs?: undefined };

/** Connects once, by the deadline. On success the caller owns the socket (it has an error listener). */
export function connectOnce(address: string, port: number, deadline: number): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect({ host: address, port });
    let settled = false;
    const settle = (o: ConnectOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', onError);
      if ('failure' in o) {
        socket.on('error', () => undefined);
        socket.destroy();
      }
      resolve(o);
    };
    const onError = (err: NodeJS.ErrnoException): void => settle({ failure: classifySocketError(err, 'connect') });
    socket.on('error', onError);
    socket.once('connect', () => settle({ socket, connectMs: ms(t0, performance.now()) }));
    const timer = setTimeout(() => settle({ failure: { code: 'connect_timeout', message: 'connect timeout' } }), Math.max(0, deadline - Date.now()));
  });
}

export class TcpChecker implements Checker {
  constructor(readonly def: TcpCheckDef) {}

  async check(target: CheckTarget, deadline: number): Promise<CheckResult> {
    const started = performance.now();
    if (Date.now() >= deadline) return downResult('deadline', 'deadline passed before the check started', { totalMs: 0 });
    const resolved = await resolveAddress(target.address, deadline);
    if ('failure' in resolved) return downResult(resolved.failure.code, resolved.failure.message, { totalMs: ms(started, performance.now()) });
    const port = this.def.port ?? target.port;
    const o = await connectOnce(resolved.address, port, deadline);
    const timings = { connectMs: o.connectMs, totalMs: ms(started, performance.now()) };
    const detail = { target: hostPort(resolved.address, port) };
    if ('failure' in o) return downResult(o.failure.code, o.failure.message, timings, detail);
    o.socket.on('error', () => undefined);
    o.socket.destroy();
    return upResult(`connected in ${o.connectMs} ms`, timings, detail);
  }
}
