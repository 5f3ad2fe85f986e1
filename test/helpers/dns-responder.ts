// A tiny authoritative-looking DNS server on loopback UDP that the test steers: per name it answers
// A records, SERVFAIL, NXDOMAIN, or nothing at all (the client times out); `down()` closes the
// socket so queries get ICMP port unreachable (ECONNREFUSED), `up()` binds the same port again.
import * as dgram from 'node:dgram';

/** answer: the A record (AAAA queries get an empty NOERROR); silent: no reply. */
export type NameMode = 'answer' | 'servfail' | 'nxdomain' | 'silent';

export interface DnsResponder {
  /** `127.0.0.1:port`, for Resolver.setServers. */
  server: string;
  port: number;
  /** name → IPv4 address answered in `answer` mode. */
  records: Map<string, string>;
  /** Mode for every name without its own. */
  setMode(mode: NameMode): void;
  /** Mode for one name (undefined: back to the default). */
  setNameMode(name: string, mode: NameMode | undefined): void;
  /** Queries received, by name. */
  queries: Map<string, number>;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const RCODE = { answer: 0, servfail: 2, nxdomain: 3 } as const;

function questionOf(msg: Buffer): { name: string; qtype: number; end: number } | null {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return null;
  let off = 12;
  const labels: string[] = [];
  while (off < msg.length && msg[off] !== 0) {
    const len = msg[off]!;
    if ((len & 0xc0) !== 0 || off + 1 + len > msg.length) return null;
    labels.push(msg.toString('ascii', off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 5 > msg.length) return null;
  return { name: labels.join('.').toLowerCase(), qtype: msg.readUInt16BE(off + 1), end: off + 5 };
}

function reply(query: Buffer, q: { qtype: number; end: number }, rcode: number, address: string | undefined): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, opcode 0, AA, RD copied, RA, rcode.
  header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  const answer = rcode === 0 && q.qtype === 1 && address !== undefined;
  header.writeUInt16BE(answer ? 1 : 0, 6);
  const parts = [header, query.subarray(12, q.end)];
  if (answer) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(5, 6); // TTL
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    parts.push(rr);
  }
  return Buffer.concat(parts);
}

export async function startDnsResponder(records: Record<string, string>, host = '127.0.0.1'): Promise<DnsResponder> {
  const recs = new Map(Object.entries(records).map(([n, a]) => [n.toLowerCase(), a]));
  const modes = new Map<string, NameMode>();
  const queries = new Map<string, number>();
  let mode: NameMode = 'answer';
  let socket: dgram.Socket | undefined;
  let port = 0;
  const bind = async () => {
    const s = dgram.createSocket('udp4');
    s.on('message', (msg, rinfo) => {
      const q = questionOf(msg);
      if (!q) return;
      queries.set(q.name, (queries.get(q.name) ?? 0) + 1);
      const m = modes.get(q.name) ?? mode;
      if (m === 'silent') return;
      const known = recs.get(q.name);
      const rcode = m === 'answer' ? (known === undefined ? RCODE.nxdomain : 0) : RCODE[m];
      s.send(reply(msg, q, rcode, known), rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    port = s.address().port;
    socket = s;
  };
  await bind();
  const close = async () => {
    const s = socket;
    socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  return {
    get server() {
      return `${host}:${port}`;
    },
    get port() {
      return port;
    },
    records: recs,
    setMode: (m) => (mode = m),
    setNameMode: (n, m) => (m === undefined ? modes.delete(n.toLowerCase()) : modes.set(n.toLowerCase(), m)),
    queries,
    down: close,
    up: async () => {
      if (!socket) await bind();
    },
    close,
  };
}
