// The idle-connection check kind: PyBal's IdleConnection behind the request/response Checker.
//
// PyBal holds one TCP connection per server and reacts to events: a clean close (FIN) triggers a fast
// reconnect and the server goes down only if that fails within timeout-clean-reconnect; an unclean
// loss (reset) or a failed connect is down at once; a successful connect is up.
// Here the checker is STATEFUL: it keeps one held connection per target (address:port) across
// `check` calls, reacts to socket events as PyBal does, and each `check` call reports the current
// state. A check on a target that is down (or never connected) makes a new connect attempt, so the
// scheduler's interval is the reconnect pace (PyBal uses an exponential back-off instead); the
// first check after a loss reports the loss itself, the next one tries to reconnect.
// While a clean-close reconnect is in flight, the last state (up) stands, as in PyBal, with a
// warning finding. `release(target)` or `close()` drop held connections.
import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CheckResult, IdleConnectionCheckDef } from '../model/types.js';
import type { Checker, CheckTarget } from './checker.js';
import { resolveAddress } from './resolve.js';
import { classifySocketError, downResult, hostPort, ms, upResult, type NamedFailure } from './result.js';
import { connectOnce } from './tcp.js';

interface Held {
  address: string;
  port: number;
  state: 'up' | 'down' | 'reconnecting';
  socket?: net.Socket;
  heldSince?: number;
  failure?: NamedFailure;
  /** An in-flight connect attempt. */
  pending?: Promise<void>;
  lastConnectMs?: number;
  reconnects: number;
  released: boolean;
  /** A loss (reset, or a failed clean-close reconnect) that no check has reported yet. */
  unreported: boolean;
}

const TCP_KEEPALIVE_IDLE_MS = 10_000;

export class IdleConnectionChecker implements Checker {
  private readonly held = new Map<string, Held>();

  constructor(readonly def: IdleConnectionCheckDef) {}

  async check(target: CheckTarget, deadline: number): Promise<CheckResult> {
    const started = performance.now();
    if (Date.now() >= deadline) return downResult('deadline', 'deadline passed before the check started', { totalMs: 0 });
    const resolved = await resolveAddress(target.address, deadline);
    if ('failure' in resolved) return downResult(resolved.failure.code, resolved.failure.message, { totalMs: ms(started, performance.now()) });
    const port = this.def.port ?? target.port;
    const key = hostPort(resolved.address, port);
    let h = this.held.get(key);
    if (!h) {
      h = { address: resolved.address, port, state: 'down', reconnects: 0, released: false, unreported: false };
      this.held.set(key, h);
    }
    // A loss is reported by the first check after it; the reconnect attempt waits for the next one.
    const fresh = h.state === 'down' && h.unreported;
    h.unreported = false;
    if (h.state === 'down' && !h.pending && !fresh) h.pending = this.attempt(h, deadline, false);
    if (h.pending) await raceDeadline(h.pending, deadline);
    const timings = { connectMs: h.lastConnectMs, totalMs: ms(started, performance.now()) };
    const detail = { target: key, reconnects: h.reconnects, heldSinceMs: h.heldSince };
    if (h.state === 'up') {
      const heldFor = Math.round((Date.now() - (h.heldSince ?? Date.now())) / 1000);
      return upResult(`connection held for ${heldFor} s`, timings, detail);
    }
    if (h.state === 'reconnecting') {
      return upResult('server closed the idle connection; reconnecting', timings, detail, [
        { code: 'closed', message: 'server closed the idle connection; reconnect in progress', severity: 'warning' },
      ]);
    }
    if (h.pending) return downResult('connect_timeout', 'connect timeout', timings, detail);
    const f = h.failure ?? { code: 'error' as const, message: 'not connected' };
    return downResult(f.code, f.message, timings, detail);
  }

  /** Stops holding a connection to a target that left the pool. */
  release(target: CheckTarget): void {
    const key = hostPort(target.address, this.def.port ?? target.port);
    const h = this.held.get(key);
    if (!h) return;
    h.released = true;
    h.socket?.destroy();
    this.held.delete(key);
  }

  async close(): Promise<void> {
    for (const h of this.held.values()) {
      h.released = true;
      h.socket?.destroy();
    }
    this.held.clear();
  }

  private async attempt(h: Held, deadline: number, reconnect: boolean): Promise<void> {
    const o = await connectOnce(h.address, h.port, deadline);
    h.pending = undefined;
    if (h.released) {
      if (!('failure' in o)) o.socket.destroy();
      return;
    }
    if ('failure' in o) {
      h.state = 'down';
      h.failure = reconnect
        ? { code: 'closed', message: `server closed the idle connection and the reconnect failed: ${o.failure.message}` }
        : o.failure;
      h.unreported = reconnect;
      return;
    }
    h.lastConnectMs = o.connectMs;
    this.hold(h, o.socket);
  }

  private hold(h: Held, socket: net.Socket): void {
    h.state = 'up';
    h.socket = socket;
    h.heldSince = Date.now();
    h.failure = undefined;
    socket.setKeepAlive(true, TCP_KEEPALIVE_IDLE_MS);
    socket.resume(); // whatever the server sends is not ours to read
    let gone = false;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (gone || h.released) return;
      gone = true;
      // Unclean loss: down at once, as in PyBal.
      const f = classifySocketError(err, 'exchange');
      h.state = 'down';
      h.socket = undefined;
      h.failure = { code: f.code, message: `held connection lost: ${f.message}` };
      h.unreported = true;
      socket.destroy();
    });
    const cleanClose = (): void => {
      if (gone || h.released) return;
      gone = true;
      socket.destroy();
      h.socket = undefined;
      h.state = 'reconnecting';
      h.reconnects++;
      h.pending = this.attempt(h, Date.now() + this.def.reconnectTimeoutMs, true);
    };
    socket.on('end', cleanClose);
    socket.on('close', cleanClose);
  }
}

async function raceDeadline(p: Promise<void>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
  clearTimeout(timer);
}
