// One client connection of a check, behind a small interface so the http exchange does not care
// which stack carries it. Two transports:
//   handle  plain TCP straight on libuv's TCP handle (conn-handle.ts): no net.Socket, no streams.
//           A new-connection check spends ~30 µs less CPU this way (BENCHMARKS.md, "Health
//           checks"), which is what brings 10k checks/s within one core (DESIGN §11).
//   socket  node:net / node:tls (conn-socket.ts): TLS always; plain TCP when the handle transport
//           is unavailable on this Node or turned off (POOLD_TCP_TRANSPORT=net).
// Events reach the owner synchronously; `received` data is only valid during the call (reads land
// in one buffer shared by every connection).
import { handleTransportProblem, openHandleConn } from './conn-handle.js';
import { openSocketConn, type TlsOptions } from './conn-socket.js';

export interface ConnOwner {
  /** TCP connected. */
  connected(): void;
  /** TLS handshake done (TLS connections only, after `connected`). */
  secured(): void;
  received(data: Buffer): void;
  /** The peer closed its side (FIN). */
  ended(): void;
  errored(err: NodeJS.ErrnoException): void;
  /** The connection went away without `ended` or `errored` (TLS internals). */
  closed(): void;
}

export interface Conn {
  /** Who hears this connection's events; undefined while nobody listens (events are dropped). */
  owner: ConnOwner | undefined;
  write(data: Buffer): void;
  /** Closes without the close handshake (RST; TLS connections close normally). Idempotent; no
   *  event reaches the owner afterwards. */
  abort(): void;
  /** Still open both ways, so a kept-alive request can be sent on it. */
  readonly reusable: boolean;
}

export type TcpTransport = 'handle' | 'net';

let transport: TcpTransport = initialTransport();

function initialTransport(): TcpTransport {
  const wanted = process.env.POOLD_TCP_TRANSPORT;
  if (wanted === 'net') return 'net';
  return handleTransportProblem() === undefined ? 'handle' : 'net';
}

/** Which transport plain-TCP checks use, and why not the handle one when it is not. */
export function tcpTransport(): { transport: TcpTransport; why?: string } {
  if (transport === 'handle') return { transport };
  const problem = handleTransportProblem();
  return { transport, why: problem ?? 'POOLD_TCP_TRANSPORT=net' };
}

/** For tests and benchmarks, which run every behaviour on both transports. */
export function setTcpTransport(wanted: TcpTransport): void {
  if (wanted === 'handle') {
    const problem = handleTransportProblem();
    if (problem !== undefined) throw new Error(`the handle TCP transport is unavailable: ${problem}`);
  }
  transport = wanted;
}

/** Opens a connection to an IP address (never a name: targets are resolved before this). */
export function openConn(address: string, port: number, owner: ConnOwner, tls?: TlsOptions): Conn {
  if (tls === undefined && transport === 'handle') return openHandleConn(address, port, owner);
  return openSocketConn(address, port, owner, tls);
}

export type { TlsOptions } from './conn-socket.js';
