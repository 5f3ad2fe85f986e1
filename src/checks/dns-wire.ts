// Minimal DNS wire format (RFC 1035) for the dns check: one question out, A/AAAA answers in.
// A raw UDP query gives the check its own exact deadline and one packet per check, which node's
// Resolver (c-ares, with its own timeouts and retries) does not.

export const QTYPE = { A: 1, AAAA: 28 } as const;
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export class DnsWireError extends Error {
  override name = 'DnsWireError';
}

export function encodeQuery(id: number, name: string, type: keyof typeof QTYPE): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  parts.push(header);
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length > 63) throw new DnsWireError(`label too long in ${name}`);
    parts.push(Buffer.from([b.length]), b);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt8(0, 0);
  tail.writeUInt16BE(QTYPE[type], 1);
  tail.writeUInt16BE(1, 3); // IN
  parts.push(tail);
  return Buffer.concat(parts);
}

export interface DnsAnswer {
  id: number;
  rcode: number;
  truncated: boolean;
  addresses: string[];
}

/** Skips a (possibly compressed) name; returns the offset after it. */
function skipName(buf: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= buf.length) throw new DnsWireError('name runs past the packet');
    const len = buf[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += 1 + len;
  }
  throw new DnsWireError('name too long');
}

export function decodeResponse(buf: Buffer, type: keyof typeof QTYPE): DnsAnswer {
  if (buf.length < 12) throw new DnsWireError(`short packet (${buf.length} bytes)`);
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw new DnsWireError('not a response');
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(buf, off) + 4;
  const addresses: string[] = [];
  for (let i = 0; i < an; i++) {
    off = skipName(buf, off);
    if (off + 10 > buf.length) throw new DnsWireError('answer runs past the packet');
    const rtype = buf.readUInt16BE(off);
    const rdlen = buf.readUInt16BE(off + 8);
    off += 10;
    if (off + rdlen > buf.length) throw new DnsWireError('answer data runs past the packet');
    if (rtype === QTYPE[type]) {
      if (type === 'A' && rdlen === 4) addresses.push([...buf.subarray(off, off + 4)].join('.'));
      if (type === 'AAAA' && rdlen === 16) addresses.push(formatIPv6(buf.subarray(off, off + 16)));
    }
    off += rdlen;
  }
  return { id, rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, addresses };
}

/** Compressed RFC 5952 form, so it compares equal to what operators write. */
export function formatIPv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
