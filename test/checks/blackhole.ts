// A listener whose accept queue is full, so new SYNs are dropped and connects hang: the only way to
// get a real connect timeout on loopback. Node always accepts, so a tiny python3 process holds a
// socket with listen(0) that never accepts; one connection from us fills its queue.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export interface Blackhole {
  address: string;
  port: number;
  stop(): Promise<void>;
}

const PY = `
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

export async function startBlackhole(address: string): Promise<Blackhole> {
  const child: ChildProcess = spawn('python3', ['-c', PY, address], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  const filler = net.connect(port, address);
  filler.on('error', () => undefined);
  await new Promise<void>((r) => filler.once('connect', () => r()));
  return {
    address,
    port,
    async stop() {
      filler.destroy();
      child.stdin!.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}
