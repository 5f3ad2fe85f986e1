// One client connection of a check, behind a small interface so the http exchange does not care how
// it is carried. The one implementation is conn-socket.ts (node:net / node:tls, public APIs only);
// this file holds only the types, so nothing imports back into it.
// Events reach the owner synchronously; `received` data is only valid during the call (reads land
// in one buffer shared by every plain-TCP connection, so only its first `length` bytes are this
// connection's).
import type * as tls from 'node:tls';

export interface ConnOwner {
  /** TCP connected. */
  connected(): void;
  /** TLS handshake done (TLS connections only, after `connected`). */
  secured(): void;
  /** `data[0, length)` arrived; `data` may be longer (the shared read buffer) and is only valid now. */
  received(data: Buffer, length: number): void;
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

export interface TlsOptions {
  servername?: string;
  rejectUnauthorized: boolean;
  secureContext: tls.SecureContext;
}
