// Check connections on node:net / node:tls sockets (the types are in conn.ts).
//
// Cost notes: one listener function per event shared by every socket (the connection is found
// through a symbol, no closures per check); plain TCP reads go through net.connect's `onread` into
// one reused buffer, skipping the readable-stream machinery. `allowHalfOpen`: the server's FIN must
// not make node shut our side down first; the owner decides how the connection ends.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Conn, ConnOwner, TlsOptions } from './conn.js';

const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const CONN = Symbol('poold.conn');
type OwnedSocket = net.Socket & { [CONN]?: SocketConn };

/** Opens a connection to an IP address (never a name: targets are resolved before this). */
export function openConn(address: string, port: number, owner: ConnOwner, tlsOptions?: TlsOptions): Conn {
  return new SocketConn(address, port, owner, tlsOptions);
}

class SocketConn implements Conn {
  owner: ConnOwner | undefined;
  private readonly socket: OwnedSocket;

  constructor(address: string, port: number, owner: ConnOwner, private readonly tlsOptions: TlsOptions | undefined) {
    this.owner = owner;
    let socket: OwnedSocket;
    if (tlsOptions) {
      socket = tls.connect({ host: address, port, ...tlsOptions });
      socket.on('secureConnect', onSecureConnect);
      socket.on('data', onData);
    } else {
      socket = net.connect({ host: address, port, allowHalfOpen: true, onread: ONREAD });
    }
    socket[CONN] = this;
    socket.on('connect', onConnect);
    socket.on('end', onEnd);
    // Stays attached for the socket's life: a late error on a socket being torn down must not
    // crash the process; it reaches nobody once the owner is gone.
    socket.on('error', onError);
    socket.on('close', onClose);
    this.socket = socket;
  }

  get reusable(): boolean {
    const s = this.socket;
    return !s.destroyed && s.writable && !s.readableEnded;
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  abort(): void {
    this.owner = undefined;
    const s = this.socket;
    if (s.destroyed) return;
    // resetAndDestroy needs a TCP handle; a TLS socket closes normally.
    if (this.tlsOptions) s.destroy();
    else s.resetAndDestroy();
  }
}

function onRead(this: OwnedSocket, n: number): boolean {
  this[CONN]?.owner?.received(READ_BUFFER, n);
  return true;
}
/** One options object for every socket: node calls the callback with the socket as `this`. */
const ONREAD = { buffer: READ_BUFFER, callback: onRead };
function onData(this: OwnedSocket, chunk: Buffer): void {
  this[CONN]?.owner?.received(chunk, chunk.length);
}
function onConnect(this: OwnedSocket): void {
  this[CONN]?.owner?.connected();
}
function onSecureConnect(this: OwnedSocket): void {
  this[CONN]?.owner?.secured();
}
function onEnd(this: OwnedSocket): void {
  this[CONN]?.owner?.ended();
}
function onError(this: OwnedSocket, err: NodeJS.ErrnoException): void {
  this[CONN]?.owner?.errored(err);
}
function onClose(this: OwnedSocket): void {
  this[CONN]?.owner?.closed();
}
