// idle-connection: PyBal's IdleConnection semantics over a stateful checker, against a real server.
import * as net from 'node:net';
import t from 'tap';
import { IdleConnectionChecker } from '../../src/checks/idle-connection.js';
import { idleDef, loopbackAddress } from './check-defs.js';

interface Server {
  address: string;
  port: number;
  sockets: net.Socket[];
  accepted: number;
  close(): Promise<void>;
  reopen(): Promise<void>;
}

async function server(): Promise<Server> {
  const address = loopbackAddress();
  let srv: net.Server | null = null;
  const s: Server = {
    address,
    port: 0,
    sockets: [],
    accepted: 0,
    // Stops listening at once; held connections stay (server.close's callback would wait for them).
    close: async () => {
      srv?.close();
      srv = null;
    },
    reopen: async () => {
      srv = net.createServer((sock) => {
        s.accepted++;
        sock.on('error', () => undefined);
        s.sockets.push(sock);
      });
      await new Promise<void>((r) => srv!.listen(s.port, address, r));
      s.port = (srv.address() as net.AddressInfo).port;
    },
  };
  await s.reopen();
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('held connection is up; a clean close with a successful reconnect stays up', async (tt) => {
  const s = await server();
  const c = new IdleConnectionChecker(idleDef());
  tt.teardown(async () => {
    await c.close();
    for (const x of s.sockets) x.destroy();
    await s.close();
  });
  const target = { host: 'h', address: s.address, port: s.port };
  const first = await c.check(target, Date.now() + 500);
  tt.equal(first.up, true, first.message);
  const again = await c.check(target, Date.now() + 500);
  tt.equal(again.up, true);
  tt.equal(s.accepted, 1, 'the connection is held, not reopened per check');
  s.sockets[0].end(); // clean close (FIN), e.g. an idle timeout on the server
  await sleep(50);
  const after = await c.check(target, Date.now() + 500);
  tt.equal(after.up, true, after.message);
  tt.equal(after.detail?.reconnects, 1);
  tt.equal(s.accepted, 2, 'reconnected once');
});

t.test('a clean close whose reconnect fails is down (closed)', async (tt) => {
  const s = await server();
  const c = new IdleConnectionChecker(idleDef({ reconnectTimeoutMs: 200 }));
  tt.teardown(async () => {
    await c.close();
    await s.close();
  });
  const target = { host: 'h', address: s.address, port: s.port };
  tt.equal((await c.check(target, Date.now() + 500)).up, true);
  await s.close(); // stop listening, keep the held connection
  s.sockets[0].end();
  await sleep(50);
  const r = await c.check(target, Date.now() + 500);
  tt.equal(r.up, false);
  tt.equal(r.code, 'closed');
  tt.equal(r.message, 'server closed the idle connection and the reconnect failed: connection refused');
  await s.reopen();
  const back = await c.check(target, Date.now() + 500);
  tt.equal(back.up, true, 'a check on a down target reconnects');
});

t.test('an unclean loss (reset) is down at once', async (tt) => {
  const s = await server();
  const c = new IdleConnectionChecker(idleDef());
  tt.teardown(async () => {
    await c.close();
    for (const x of s.sockets) x.destroy();
    await s.close();
  });
  const target = { host: 'h', address: s.address, port: s.port };
  tt.equal((await c.check(target, Date.now() + 500)).up, true);
  s.sockets[0].resetAndDestroy();
  await sleep(50);
  const r = await c.check(target, Date.now() + 500);
  // The first check after the loss reports the loss; the reconnect waits for the next check.
  tt.equal(r.up, false, r.message);
  tt.equal(r.code, 'reset');
  tt.equal(r.message, 'held connection lost: connection reset by peer');
  const next = await c.check(target, Date.now() + 500);
  tt.equal(next.up, true, 'the next check reconnects');
  tt.equal(s.accepted, 2);
});

t.test('refused at first, up once the server listens', async (tt) => {
  const s = await server();
  await s.close();
  const c = new IdleConnectionChecker(idleDef());
  tt.teardown(async () => {
    await c.close();
    for (const x of s.sockets) x.destroy();
    await s.close();
  });
  const target = { host: 'h', address: s.address, port: s.port };
  const r = await c.check(target, Date.now() + 500);
  tt.equal(r.code, 'refused');
  await s.reopen();
  tt.equal((await c.check(target, Date.now() + 500)).up, true);
});
