// The dns check against a tiny real UDP DNS responder on loopback.
import * as dgram from 'node:dgram';
import t from 'tap';
import { DnsChecker } from '../../src/checks/dns.js';
import { formatIPv6 } from '../../src/checks/dns-wire.js';
import { dnsDef, loopbackAddress } from './check-defs.js';

type Mode = 'answer' | 'silent' | 'servfail';
let mode: Mode = 'answer';
const records: Record<string, { A: string[]; AAAA: string[] }> = {
  'svc.example.test': { A: ['10.2.2.18', '10.2.2.19'], AAAA: ['2620:0:861:ed1a::1'] },
};

/** Builds a reply to a one-question query: echoes the question, appends A/AAAA answers with name pointers. */
function reply(query: Buffer): Buffer | null {
  if (mode === 'silent') return null;
  let off = 12;
  const labels: string[] = [];
  while (query[off] !== 0) {
    labels.push(query.toString('ascii', off + 1, off + 1 + query[off]));
    off += 1 + query[off];
  }
  const qtype = query.readUInt16BE(off + 1);
  const question = query.subarray(12, off + 5);
  const name = labels.join('.');
  const rec = records[name];
  const rcode = mode === 'servfail' ? 2 : rec ? 0 : 3;
  const addrs = rcode === 0 ? (qtype === 1 ? rec.A : rec.AAAA) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addrs.length, 6);
  const answers = addrs.map((a) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    const data = qtype === 1 ? Buffer.from(a.split('.').map(Number)) : ipv6Bytes(a);
    rr.writeUInt16BE(data.length, 10);
    return Buffer.concat([rr, data]);
  });
  return Buffer.concat([header, question, ...answers]);
}

function ipv6Bytes(a: string): Buffer {
  const [head, tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

const address = loopbackAddress();
let port = 0;
const server = dgram.createSocket('udp4');
server.on('message', (msg, rinfo) => {
  const r = reply(msg);
  if (r) server.send(r, rinfo.port, rinfo.address);
});

t.before(async () => {
  await new Promise<void>((r) => server.bind(0, address, r));
  port = server.address().port;
});
t.teardown(() => server.close());

const target = (): { host: string; address: string; port: number } => ({ host: 'dns1001', address, port });

t.test('A answer is up and lists the addresses', async (tt) => {
  mode = 'answer';
  const r = await new DnsChecker(dnsDef({ expect: ['10.2.2.18'] })).check(target(), Date.now() + 500);
  tt.equal(r.up, true, r.message);
  tt.equal(r.message, 'svc.example.test A: 10.2.2.18, 10.2.2.19');
  tt.same(r.detail?.addresses, ['10.2.2.18', '10.2.2.19']);
});

t.test('AAAA answer with a differently written expected address', async (tt) => {
  mode = 'answer';
  const r = await new DnsChecker(dnsDef({ type: 'AAAA', expect: ['2620:0:861:ED1A:0:0:0:1'] })).check(target(), Date.now() + 500);
  tt.equal(r.up, true, r.message);
  tt.same(r.detail?.addresses, ['2620:0:861:ed1a::1']);
});

t.test('a missing expected address is dns_failure', async (tt) => {
  mode = 'answer';
  const r = await new DnsChecker(dnsDef({ expect: ['10.9.9.9'] })).check(target(), Date.now() + 500);
  tt.equal(r.code, 'dns_failure');
  tt.equal(r.message, 'answer for svc.example.test A lacks 10.9.9.9 (got 10.2.2.18, 10.2.2.19)');
});

t.test('NXDOMAIN and SERVFAIL are dns_failure with the rcode', async (tt) => {
  mode = 'answer';
  const nx = await new DnsChecker(dnsDef({ query: 'nope.example.test' })).check(target(), Date.now() + 500);
  tt.equal(nx.code, 'dns_failure');
  tt.equal(nx.message, 'DNS NXDOMAIN for nope.example.test A');
  mode = 'servfail';
  const sf = await new DnsChecker(dnsDef()).check(target(), Date.now() + 500);
  tt.equal(sf.message, 'DNS SERVFAIL for svc.example.test A');
});

t.test('a silent server is `deadline`, on time', async (tt) => {
  mode = 'silent';
  const start = Date.now();
  const r = await new DnsChecker(dnsDef()).check(target(), start + 300);
  const elapsed = Date.now() - start;
  tt.equal(r.code, 'deadline');
  tt.ok(elapsed >= 295 && elapsed <= 400, `verdict at the deadline (${elapsed} ms)`);
});

t.test('nothing listening is refused (ICMP port unreachable)', async (tt) => {
  const probe = dgram.createSocket('udp4');
  const closedAddress = loopbackAddress();
  await new Promise<void>((r) => probe.bind(0, closedAddress, r));
  const closedPort = probe.address().port;
  await new Promise<void>((r) => probe.close(r));
  const r = await new DnsChecker(dnsDef()).check({ host: 'h', address: closedAddress, port: closedPort }, Date.now() + 500);
  tt.equal(r.code, 'refused', r.message);
});

t.test('IPv6 formatting is RFC 5952', async (tt) => {
  tt.equal(formatIPv6(ipv6Bytes('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  tt.equal(formatIPv6(Buffer.alloc(16)), '::');
  tt.equal(formatIPv6(ipv6Bytes('::1')), '::1');
});
