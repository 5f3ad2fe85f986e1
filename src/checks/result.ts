// Building CheckResults and naming socket failures, shared by every check kind.
import type { CheckResult, CheckTimings, Finding, ReasonCode } from '../model/types.js';
import { tlsFailureText } from './tls-error.js';

export function upResult(message: string, timings: CheckTimings, detail?: Record<string, unknown>, findings: Finding[] = []): CheckResult {
  return { up: true, code: 'ok', message, timings, findings, detail };
}

export function downResult(
  code: ReasonCode,
  message: string,
  timings: CheckTimings,
  detail?: Record<string, unknown>,
  findings: Finding[] = [],
): CheckResult {
  return { up: false, code, message, timings, findings, detail };
}

/** Rounds a duration to 0.1 ms: sub-millisecond precision matters for loopback, more is noise. */
export function ms(start: number, end: number): number {
  return Math.round((end - start) * 10) / 10;
}

export interface NamedFailure {
  code: ReasonCode;
  message: string;
}

/** Maps a socket/TLS error to a reason code and an operator-readable message. */
export function classifySocketError(err: NodeJS.ErrnoException, phase: 'connect' | 'tls' | 'exchange'): NamedFailure {
  const errno = err.code ?? '';
  switch (errno) {
    case 'ECONNREFUSED':
      return { code: 'refused', message: 'connection refused' };
    case 'ECONNRESET':
      return { code: 'reset', message: phase === 'connect' ? 'connection reset while connecting' : 'connection reset by peer' };
    case 'EPIPE':
      return { code: 'reset', message: 'connection reset by peer (broken pipe)' };
    case 'ETIMEDOUT':
      return { code: 'connect_timeout', message: 'connect timed out (kernel)' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return { code: 'dns_failure', message: `DNS failure: ${err.message}` };
  }
  if (phase === 'tls' || /^ERR_SSL|^ERR_TLS|CERT|^UNABLE_TO|SELF_SIGNED|^HOSTNAME_MISMATCH/.test(errno)) {
    return { code: 'tls_error', message: tlsFailureText(err) };
  }
  return { code: 'error', message: errno ? `${errno}: ${err.message}` : err.message };
}

/** A compact `host:port` label; IPv6 literals in brackets. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
