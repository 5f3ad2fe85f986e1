// The dns check kind: query the backend itself as a resolver, one UDP packet, own deadline.
// Codes: no answer by the deadline -> `deadline`; ICMP port unreachable -> `refused`; an error rcode,
// a truncated or malformed answer, no address, or a missing expected address -> `dns_failure`.
import * as dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CheckResult, DnsCheckDef } from '../model/types.js';
import type { Checker, CheckTarget } from './checker.js';
import { decodeResponse, DnsWireError, encodeQuery, RCODES } from './dns-wire.js';
import { resolveAddress } from './resolve.js';
import { classifySocketError, downResult, hostPort, ms, upResult } from './result.js';

export class DnsChecker implements Checker {
  private readonly expected: string[] | undefined;

  constructor(readonly def: DnsCheckDef) {
    this.expected = def.expect?.map(normalizeAddress);
  }

  async check(target: CheckTarget, deadline: number): Promise<CheckResult> {
    const started = performance.now();
    if (Date.now() >= deadline) return downResult('deadline', 'deadline passed before the check started', { totalMs: 0 });
    const resolved = await resolveAddress(target.address, deadline);
    if ('failure' in resolved) return downResult(resolved.failure.code, resolved.failure.message, { totalMs: ms(started, performance.now()) });
    const port = this.def.port ?? target.port;
    const server = hostPort(resolved.address, port);
    const id = randomInt(0, 0x10000);
    const query = encodeQuery(id, this.def.query, this.def.type);
    const q = `${this.def.query} ${this.def.type}`;
    return new Promise((resolve) => {
      const sock = dgram.createSocket(isIPv6(resolved.address) ? 'udp6' : 'udp4');
      let settled = false;
      const settle = (r: CheckResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.close();
        resolve(r);
      };
      const timings = (): { firstByteMs?: number; totalMs: number } => ({ totalMs: ms(started, performance.now()) });
      const detail: Record<string, unknown> = { server, query: q };
      sock.on('error', (err: NodeJS.ErrnoException) => {
        const f = classifySocketError(err, 'exchange');
        settle(downResult(f.code, f.code === 'refused' ? `DNS server ${server} refused (port unreachable)` : f.message, timings(), detail));
      });
      sock.on('message', (msg) => {
        let answer;
        try {
          answer = decodeResponse(msg, this.def.type);
        } catch (err) {
          if (!(err instanceof DnsWireError)) throw err;
          return settle(downResult('dns_failure', `malformed DNS answer: ${err.message}`, timings(), detail));
        }
        if (answer.id !== id) return; // a stray or late packet; keep waiting for ours
        const t = { firstByteMs: ms(started, performance.now()), totalMs: ms(started, performance.now()) };
        detail.addresses = answer.addresses;
        detail.rcode = RCODES[answer.rcode] ?? String(answer.rcode);
        if (answer.rcode !== 0) return settle(downResult('dns_failure', `DNS ${detail.rcode} for ${q}`, t, detail));
        if (answer.truncated) return settle(downResult('dns_failure', `truncated DNS answer for ${q}`, t, detail));
        if (answer.addresses.length === 0) return settle(downResult('dns_failure', `no ${this.def.type} records for ${this.def.query}`, t, detail));
        const got = answer.addresses.map(normalizeAddress);
        const missing = (this.expected ?? []).filter((e) => !got.includes(e));
        if (missing.length > 0) {
          return settle(downResult('dns_failure', `answer for ${q} lacks ${missing.join(', ')} (got ${got.join(', ')})`, t, detail));
        }
        settle(upResult(`${q}: ${got.join(', ')}`, t, detail));
      });
      const timer = setTimeout(
        () => settle(downResult('deadline', `no DNS answer from ${server} by the deadline`, timings(), detail)),
        Math.max(0, deadline - Date.now()),
      );
      // connect() so ICMP port-unreachable comes back as ECONNREFUSED instead of silence.
      sock.connect(port, resolved.address, () => sock.send(query));
    });
  }
}

function normalizeAddress(a: string): string {
  return isIPv6(a) ? new URL(`http://[${a}]/`).hostname.slice(1, -1) : a;
}
