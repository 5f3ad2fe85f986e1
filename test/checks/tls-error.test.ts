// TLS failure texts are the same on every Node line: the error objects below are the shapes Node 20
// and Node 24/26 produce for the same failure (recorded from real handshakes against a self-signed
// server and a plain-HTTP port); http.test.ts checks the text end to end on the line it runs on.
import t from 'tap';
import { classifySocketError } from '../../src/checks/result.js';

function tlsErr(fields: Record<string, unknown>): NodeJS.ErrnoException {
  return Object.assign(new Error(String(fields.message)), fields) as NodeJS.ErrnoException;
}

t.test('a self-signed certificate: one text whatever advice node appends', async (tt) => {
  const node20 = tlsErr({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' });
  const node24 = tlsErr({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate; if the root CA is installed locally, try running Node.js with --use-system-ca' });
  const older = tlsErr({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self signed certificate' });
  for (const e of [node20, node24, older]) {
    tt.same(classifySocketError(e, 'tls'), { code: 'tls_error', message: 'TLS error: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)' });
  }
  const chain = tlsErr({ code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain; if the root CA is installed locally, try running Node.js with --use-system-ca' });
  tt.equal(classifySocketError(chain, 'tls').message, 'TLS error: self-signed certificate in the chain (SELF_SIGNED_CERT_IN_CHAIN)');
});

t.test('OpenSSL errors lose the thread address and source path of the OpenSSL build', async (tt) => {
  const node20 = tlsErr({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', reason: 'wrong version number', message: '80ACE788E67F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n' });
  const node26 = tlsErr({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', reason: 'wrong version number', message: '009334AD117F0000:error:0A00010B:SSL routines:tls_validate_record_header:wrong version number:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:78:\n' });
  const noReason = tlsErr({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: node26.message });
  for (const e of [node20, node26, noReason]) tt.equal(classifySocketError(e, 'tls').message, 'TLS error: wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)');
});

t.test('a name mismatch names the certificate and the name asked for, not node wording', async (tt) => {
  const e = tlsErr({ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames: Host: other.test. is not in the cert's altnames: DNS:a.test, DNS:b.test", host: 'other.test', cert: { subject: { CN: 'a.test' }, subjectaltname: 'DNS:a.test, DNS:b.test' } });
  tt.equal(classifySocketError(e, 'tls').message, 'TLS error: certificate names a.test, b.test, not other.test (ERR_TLS_CERT_ALTNAME_INVALID)');
  const cnOnly = tlsErr({ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: 'x', host: 'other.test', cert: { subject: { CN: 'a.test' } } });
  tt.equal(classifySocketError(cnOnly, 'tls').message, 'TLS error: certificate names a.test, not other.test (ERR_TLS_CERT_ALTNAME_INVALID)');
});

t.test('a verify code seen outside the TLS phase is still a tls_error; plain socket errors are not', async (tt) => {
  tt.equal(classifySocketError(tlsErr({ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }), 'exchange').code, 'tls_error');
  tt.same(classifySocketError(tlsErr({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }), 'tls'), { code: 'refused', message: 'connection refused' });
  tt.same(classifySocketError(tlsErr({ code: 'EPROTO', message: 'write EPROTO; detail' }), 'tls'), { code: 'tls_error', message: 'TLS error: write EPROTO (EPROTO)' });
});
