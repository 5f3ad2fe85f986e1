// A TCP proxy in front of one etcd connection that can swallow its traffic without closing it, as
// a middlebox that lost a flow's state does: both ends keep an open socket, TCP acknowledges
// everything, and nothing arrives. `stall()` turns every current connection (and each one accepted
// while stalled) into such a black hole for good; `release()` lets new connections through again.
// So a client recovers only by opening a new connection, which is what a stalled etcd watch needs.
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Flow {
  client: Socket;
  upstream: Socket | undefined;
  dead: boolean;
}

export class StallProxy {
  private readonly flows = new Set<Flow>();
  private stalled = false;
  private refusing = false;
  private server: Server | undefined;
  port = 0;
  /** Connections accepted so far (a new one per re-established client). */
  accepted = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(0, '127.0.0.1', () => res());
    });
    this.port = (server.address() as { port: number }).port;
  }

  private accept(client: Socket): void {
    this.accepted++;
    if (this.refusing) {
      client.destroy();
      return;
    }
    const flow: Flow = { client, upstream: undefined, dead: this.stalled };
    this.flows.add(flow);
    const end = () => {
      this.flows.delete(flow);
      client.destroy();
      flow.upstream?.destroy();
    };
    client.on('error', end).on('close', end);
    // A dead flow reads and drops what the client sends (so its writes never block or fail).
    client.on('data', (d: Buffer) => { if (!flow.dead) flow.upstream?.write(d); });
    if (flow.dead) return;
    client.pause();
    const up = connect(this.target.port, this.target.host, () => client.resume());
    flow.upstream = up;
    up.on('data', (d: Buffer) => { if (!flow.dead) client.write(d); });
    up.on('error', end).on('close', () => { if (!flow.dead) end(); });
  }

  /** Black-holes every open connection, and every new one until release(). */
  stall(): void {
    this.stalled = true;
    for (const f of this.flows) f.dead = true;
  }

  /**
   * Resets every open connection and every new one until release(): the client sees a network
   * outage (its watches disconnect and retry), while etcd itself keeps serving other clients.
   */
  cut(): void {
    this.refusing = true;
    for (const f of this.flows) {
      f.client.destroy();
      f.upstream?.destroy();
    }
  }

  /** New connections pass again; the black-holed ones stay so. */
  release(): void {
    this.stalled = false;
    this.refusing = false;
  }

  async close(): Promise<void> {
    for (const f of this.flows) {
      f.client.destroy();
      f.upstream?.destroy();
    }
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}
