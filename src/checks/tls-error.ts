// One stable text per TLS failure, whatever Node line or OpenSSL build produced it.
//
// Why: node's own messages change between lines (Node 24 appends "; if the root CA is installed
// locally, try running Node.js with --use-system-ca" to verify errors; 20 did not; OpenSSL errors carry
// a thread address and a source path of the OpenSSL build). A check's reason is shown to operators,
// compared across observers and alerted on, so it must name the cause the same way everywhere. The
// cause is taken from what is stable: the error code (OpenSSL's X509 verify code, or node's ERR_*),
// OpenSSL's reason string, and the certificate's names.

/** Wording for the X509 verify results node reports as `err.code` (OpenSSL's X509_V_ERR_* names). */
const VERIFY_TEXT: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get the issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get the local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_REVOKED: 'certificate revoked',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  INVALID_CA: 'invalid CA certificate',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  HOSTNAME_MISMATCH: 'hostname mismatch',
};

interface TlsErrorFields {
  code?: string;
  message: string;
  /** OpenSSL's reason string, on errors that come from OpenSSL (ERR_SSL_*). */
  reason?: unknown;
  /** On ERR_TLS_CERT_ALTNAME_INVALID: the name checked and the peer certificate. */
  host?: unknown;
  cert?: { subject?: { CN?: unknown }; subjectaltname?: unknown };
}

/** `TLS error: <cause> (<CODE>)`, the same text on every Node line for the same failure. */
export function tlsFailureText(err: NodeJS.ErrnoException): string {
  const e = err as NodeJS.ErrnoException & TlsErrorFields;
  const code = e.code;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = certNames(e.cert);
    const host = typeof e.host === 'string' ? e.host : 'the requested name';
    return `TLS error: certificate ${names ? `names ${names}, not ${host}` : `does not name ${host}`} (${code})`;
  }
  const cause = (code !== undefined ? VERIFY_TEXT[code] : undefined) ?? (typeof e.reason === 'string' && e.reason ? e.reason : firstClause(e.message));
  return code ? `TLS error: ${cause} (${code})` : `TLS error: ${cause}`;
}

/** The DNS names (else the CN) a certificate is for, as `a, b`. */
function certNames(cert: TlsErrorFields['cert']): string {
  const alt = typeof cert?.subjectaltname === 'string' ? cert.subjectaltname : '';
  const dns = alt.split(',').map((x) => x.trim()).filter((x) => x.startsWith('DNS:') || x.startsWith('IP Address:')).map((x) => x.slice(x.indexOf(':') + 1));
  if (dns.length > 0) return dns.join(', ');
  return typeof cert?.subject?.CN === 'string' ? cert.subject.CN : '';
}

/** Node's text without the advice node appends after `; ` and without OpenSSL's error-queue prefix. */
function firstClause(message: string): string {
  const text = message.split('\n')[0].split('; ')[0];
  // OpenSSL queue entries: "<thread>:error:<hex>:<library>:<function>:<reason>:<file>:<line>:"
  const m = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(text);
  return m ? m[1] : text;
}
