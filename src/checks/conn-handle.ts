// Plain-TCP check connections straight on libuv's TCP handle, the object node:net wraps.
//
// Why: a new-connection check through net.Socket costs ~50 µs of user CPU, most of it the Duplex
// stream machinery a check never needs (measured: bench/checks/client-floor.js). On the handle it
// is ~20 µs, which is the difference between missing and meeting DESIGN §11's "10k checks/s on one
// core". The handle is reached through `process.binding('tcp_wrap')`, an internal interface: it is
// used only on the Node majors it was verified on (below), after checking its shape, and every
// other case (or POOLD_TCP_TRANSPORT=net) uses node:net. The test suite runs every http behaviour
// on both transports.
//
// What net.Socket did that is done here: connect (connect/connect6 with a TCPConnectWrap), reads
// into a user buffer (useUserBuffer + onread, as net.connect's `onread` option does), writes with a
// WriteWrap, errors named as node names them (`util.getSystemErrorName`), and closing: always with
// RST (SO_LINGER 0, uv_tcp_close_reset). A check's connection carries nothing worth a close
// handshake, and RST leaves no TIME_WAIT on either side; HAProxy closes its checks the same way.
import { getSystemErrorName } from 'node:util';
import type { Conn, ConnOwner } from './conn.js';

/** Node majors on which this file's use of tcp_wrap/stream_wrap was verified by the test suite. */
const VERIFIED_NODE_MAJORS = new Set([20]);

const UV_EOF = -4095;

interface TcpHandle {
  connect(req: ConnectReq, address: string, port: number): number;
  connect6(req: ConnectReq, address: string, port: number): number;
  readStart(): number;
  useUserBuffer(buf: Uint8Array): void;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  reset(): number;
  close(): void;
  onread: (this: OwnedHandle) => void;
}
interface ConnectReq {
  oncomplete: (status: number, handle: OwnedHandle) => void;
  address: string;
  port: number;
}
interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  conn?: HandleConn;
}
interface Binding {
  TCP: new (type: number) => TcpHandle;
  socketType: number;
  TCPConnectWrap: new () => ConnectReq;
  WriteWrap: new () => WriteReq;
  state: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

const CONN = Symbol('poold.conn');
type OwnedHandle = TcpHandle & { [CONN]?: HandleConn };

let binding: Binding | undefined;
let problem: string | undefined;
probe();

function probe(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (!VERIFIED_NODE_MAJORS.has(major)) {
    problem = `not verified on Node ${major} (verified: ${[...VERIFIED_NODE_MAJORS].join(', ')})`;
    return;
  }
  // process.binding is typed loosely and its modules are internal: every member used is checked
  // below before anything relies on it.
  const bind = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
  if (typeof bind !== 'function') {
    problem = 'process.binding is not available';
    return;
  }
  let tcp: Record<string, unknown>;
  let stream: Record<string, unknown>;
  try {
    tcp = bind.call(process, 'tcp_wrap');
    stream = bind.call(process, 'stream_wrap');
  } catch (err) {
    problem = `process.binding failed: ${(err as Error).message}`;
    return;
  }
  const TCP = tcp.TCP as Binding['TCP'] | undefined;
  const constants = tcp.constants as { SOCKET?: unknown } | undefined;
  const proto = typeof TCP === 'function' ? (TCP.prototype as unknown as Record<string, unknown>) : {};
  const methods = ['connect', 'connect6', 'readStart', 'useUserBuffer', 'writeBuffer', 'reset', 'close'];
  const missing = methods.filter((m) => typeof proto[m] !== 'function');
  if (typeof TCP !== 'function' || typeof constants?.SOCKET !== 'number' || missing.length > 0) {
    problem = `tcp_wrap lacks ${missing.length > 0 ? missing.join(', ') : 'TCP or constants.SOCKET'}`;
    return;
  }
  const state = stream.streamBaseState;
  if (typeof tcp.TCPConnectWrap !== 'function' || typeof stream.WriteWrap !== 'function' || !(state instanceof Int32Array)
    || typeof stream.kReadBytesOrError !== 'number' || typeof stream.kLastWriteWasAsync !== 'number') {
    problem = 'stream_wrap or TCPConnectWrap is not as expected';
    return;
  }
  if (getSystemErrorName(UV_EOF) !== 'EOF') {
    problem = 'libuv error numbers are not as expected';
    return;
  }
  binding = {
    TCP,
    socketType: constants.SOCKET,
    TCPConnectWrap: tcp.TCPConnectWrap as Binding['TCPConnectWrap'],
    WriteWrap: stream.WriteWrap as Binding['WriteWrap'],
    state,
    kReadBytesOrError: stream.kReadBytesOrError as number,
    kLastWriteWasAsync: stream.kLastWriteWasAsync as number,
  };
}

/** Why the handle transport cannot be used here, or undefined when it can. */
export function handleTransportProblem(): string | undefined {
  return problem;
}

/** Every read of every handle connection lands here; owners copy what they keep. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export function openHandleConn(address: string, port: number, owner: ConnOwner): Conn {
  if (!binding) throw new Error(`the handle TCP transport is unavailable: ${problem}`);
  // node:net would throw these; the handle would silently truncate the port.
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`port must be an integer in 1..65535, got ${port}`);
  return new HandleConn(binding, address, port, owner);
}

class HandleConn implements Conn {
  owner: ConnOwner | undefined;
  private readonly handle: OwnedHandle;
  private open = true;
  private connected = false;
  private peerEnded = false;
  /** A write the kernel did not take at once; kept referenced until libuv completes it. */
  private pendingWrite: WriteReq | undefined = undefined;

  constructor(
    private readonly b: Binding,
    private readonly address: string,
    private readonly port: number,
    owner: ConnOwner,
  ) {
    this.owner = owner;
    const handle: OwnedHandle = new b.TCP(b.socketType);
    handle[CONN] = this;
    this.handle = handle;
    const req = new b.TCPConnectWrap();
    req.oncomplete = onConnectComplete;
    req.address = address;
    req.port = port;
    const err = address.includes(':') ? handle.connect6(req, address, port) : handle.connect(req, address, port);
    // A synchronous failure (bad address) is still reported asynchronously, as node:net does.
    if (err !== 0) queueMicrotask(() => this.fail(err, 'connect'));
  }

  get reusable(): boolean {
    return this.open && this.connected && !this.peerEnded;
  }

  connectDone(status: number): void {
    if (!this.open) return;
    if (status !== 0) return this.fail(status, 'connect');
    this.connected = true;
    this.handle.useUserBuffer(READ_BUFFER);
    this.handle.onread = onHandleRead;
    const err = this.handle.readStart();
    if (err !== 0) return this.fail(err, 'read');
    this.owner?.connected();
  }

  write(data: Buffer): void {
    if (!this.open) return;
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.oncomplete = onWriteComplete;
    req.async = false;
    req.conn = this;
    const err = this.handle.writeBuffer(req, data);
    if (err !== 0) return this.fail(err, 'write');
    if (this.b.state[this.b.kLastWriteWasAsync] !== 0) {
      req.async = true;
      this.pendingWrite = req;
    }
  }

  writeDone(req: WriteReq, status: number): void {
    if (this.pendingWrite === req) this.pendingWrite = undefined;
    if (status !== 0) this.fail(status, 'write');
  }

  read(): void {
    const n = this.b.state[this.b.kReadBytesOrError];
    if (n > 0) {
      this.owner?.received(READ_BUFFER.subarray(0, n));
      return;
    }
    if (n === UV_EOF) {
      this.peerEnded = true;
      this.owner?.ended();
      return;
    }
    if (n < 0) this.fail(n, 'read');
  }

  abort(): void {
    if (!this.open) return;
    this.open = false;
    this.owner = undefined;
    this.pendingWrite = undefined;
    const handle = this.handle;
    // onread stays (node asserts it is a function); it reaches nothing once CONN is cleared.
    handle[CONN] = undefined;
    // reset fails on a handle with no socket yet (connect failed synchronously): close it plainly.
    if (handle.reset() !== 0) handle.close();
  }

  private fail(status: number, syscall: string): void {
    if (!this.open) return;
    const name = getSystemErrorName(status);
    const err: NodeJS.ErrnoException = new Error(`${syscall} ${name} ${this.address}:${this.port}`);
    err.code = name;
    err.errno = status;
    err.syscall = syscall;
    const owner = this.owner;
    this.abort();
    owner?.errored(err);
  }
}

// Shared callbacks (no closures per connection): libuv calls them with the handle or request.
function onConnectComplete(status: number, handle: OwnedHandle): void {
  handle[CONN]?.connectDone(status);
}
function onHandleRead(this: OwnedHandle): void {
  this[CONN]?.read();
}
function onWriteComplete(this: WriteReq, status: number): void {
  this.conn?.writeDone(this, status);
}
