// Idle keep-alive connections of one http checker, per target. Used only when the check sets keepAlive;
// by default every check opens a new connection, as PyBal and HAProxy do.
import type * as net from 'node:net';

interface IdleEntry {
  socket: net.Socket;
  drop: () => void;
}

export class KeepAlivePool {
  private readonly idle = new Map<string, IdleEntry[]>();

  /** An idle, still-open socket for this target, or undefined. */
  take(key: string): net.Socket | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const entry = list.pop()!;
      entry.socket.removeListener('error', entry.drop);
      entry.socket.removeListener('end', entry.drop);
      entry.socket.removeListener('close', entry.drop);
      if (!entry.socket.destroyed && entry.socket.writable && !entry.socket.readableEnded) return entry.socket;
    }
    return undefined;
  }

  put(key: string, socket: net.Socket): void {
    let list = this.idle.get(key);
    if (!list) {
      list = [];
      this.idle.set(key, list);
    }
    const entries = list;
    // While idle, any event from the server (close, error, unsolicited bytes' end) retires the socket.
    const drop = (): void => {
      const i = entries.findIndex((e) => e.socket === socket);
      if (i >= 0) entries.splice(i, 1);
      socket.destroy();
    };
    socket.on('error', drop);
    socket.on('end', drop);
    socket.on('close', drop);
    entries.push({ socket, drop });
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const e of list) e.socket.destroy();
    this.idle.clear();
  }
}
