// TLS to an etcd endpoint given by IP address, on every supported Node line.
//
// grpc-js (1.14, the newest) always passes the endpoint's host to tls.connect as `servername`, the
// SNI name. For an IP literal that was a deprecation warning up to Node 24 (RFC 6066 forbids IP
// addresses in SNI, and Node sent none); Node 26 throws ERR_INVALID_ARG_VALUE, so poold could not
// reach `https://10.64.0.5:2379` at all. The certificate is still checked against the IP: grpc-js
// verifies the server's identity itself (tls.checkServerIdentity with the endpoint's host).
//
// The fix wraps the CommonJS `tls.connect` that grpc-js calls and drops a `servername` that is an IP
// literal, which is what older Node lines did. Only such calls change (they would throw on Node 26);
// our own checks import `connect` as an ES binding and are not affected. Installed once, before the
// first etcd client with TLS; test/security/tls.test.ts runs it on every Node line in CI.
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type * as Tls from 'node:tls';

const require = createRequire(import.meta.url);
const WRAPPED = Symbol.for('poold.tls-ip-servername');

export function allowTlsToIpEndpoints(): void {
  const tls = require('node:tls') as typeof Tls & { [WRAPPED]?: true };
  if (tls[WRAPPED]) return;
  const original = tls.connect;
  const connect = function (this: unknown, ...args: unknown[]) {
    const opts = args.find((a): a is Tls.ConnectionOptions => typeof a === 'object' && a !== null);
    if (opts !== undefined && typeof opts.servername === 'string' && isIP(opts.servername) !== 0) delete opts.servername;
    return (original as (...a: unknown[]) => Tls.TLSSocket).apply(this, args);
  } as typeof Tls.connect;
  tls.connect = connect;
  tls[WRAPPED] = true;
}
