// Idle keep-alive connections of one http checker, per target. Used only when the check sets keepAlive;
// by default every check opens a new connection, as PyBal and HAProxy do.
import type { Conn, ConnOwner } from './conn.js';

/** Owns a connection while it is idle: any event from the server (bytes, close, error) retires it. */
class IdleEntry implements ConnOwner {
  constructor(
    readonly conn: Conn,
    private readonly list: IdleEntry[],
  ) {
    conn.owner = this;
  }
  private drop(): void {
    const i = this.list.indexOf(this);
    if (i >= 0) this.list.splice(i, 1);
    this.conn.owner = undefined;
    this.conn.abort();
  }
  connected(): void {}
  secured(): void {}
  received(): void {
    this.drop();
  }
  ended(): void {
    this.drop();
  }
  errored(): void {
    this.drop();
  }
  closed(): void {
    this.drop();
  }
}

export class KeepAlivePool {
  private readonly idle = new Map<string, IdleEntry[]>();

  /** An idle, still-open connection to this target, or undefined. */
  take(key: string): Conn | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const entry = list.pop()!;
      entry.conn.owner = undefined;
      if (entry.conn.reusable) return entry.conn;
      entry.conn.abort();
    }
    return undefined;
  }

  put(key: string, conn: Conn): void {
    let list = this.idle.get(key);
    if (!list) {
      list = [];
      this.idle.set(key, list);
    }
    list.push(new IdleEntry(conn, list));
  }

  closeAll(): void {
    for (const list of this.idle.values()) {
      for (const e of list) {
        e.conn.owner = undefined;
        e.conn.abort();
      }
    }
    this.idle.clear();
  }
}
