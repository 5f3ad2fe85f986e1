// A catalog service's monitoring probe as a pools/ http check, so that after import one definition of
// healthy drives both the load balancer and monitoring (the cxserver lesson: PyBal held a TCP connection
// while monitoring fetched /_info). The probe is read as Prometheus' blackbox exporter runs it
// (wmflib::service::probe::*): path default `/`, https when the service has `encryption`, Host and SNI from
// probe_server_name, status 2xx unless valid_status_codes / expect_sso / expect_redirect say otherwise.
import { parseDuration } from '../model/duration.js';
import { probeServerName, type CatalogProbe, type CatalogService } from './wmf-catalog.js';

/** blackbox's timeout for catalog probes unless the probe sets one (Wmflib::Service::Probe). */
export const PROBE_DEFAULT_TIMEOUT = '3s';
/** pools.schema.json's duration pattern (Go durations such as 1m30s are a subset). */
const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$/;

export interface ProbeCheck {
  /** The pools/ check (YAML shape). */
  check: Record<string, unknown>;
  probe: CatalogProbe;
  /** One line saying what the check does, for the import note. */
  summary: string;
  /** Parts of the probe the check cannot carry (e.g. a regex JavaScript cannot compile). */
  dropped: string[];
}

/** The http probe import takes, when the service has one that poold can run; otherwise why not. */
export function probeCheck(svc: CatalogService, dc: string): ProbeCheck | { reason: string; probe: CatalogProbe } | undefined {
  const probe = svc.probes.find((p) => p.type === 'http');
  if (!probe) return undefined;
  if (probe.postJson !== undefined) {
    return { probe, reason: 'the probe POSTs JSON (post_json), which a poold http check cannot send' };
  }
  const dropped: string[] = [];
  const host = probeServerName(svc, dc);
  const scheme = svc.encryption ? 'https' : 'http';
  const path = probe.path ?? '/';
  // deep_merge order in http_module_options: valid_status_codes, then expect_sso, then expect_redirect.
  let status: Array<number | string> = ['200-299'];
  if (probe.validStatusCodes?.length) status = [...probe.validStatusCodes];
  if (probe.expectSso) status = [302];
  if (probe.expectRedirect) status = [301, 302];
  let timeout = probe.timeout ?? PROBE_DEFAULT_TIMEOUT;
  if (!DURATION.test(timeout) || parseDuration(timeout) === 0) {
    dropped.push(`timeout ${timeout} (not a duration poold reads; used ${PROBE_DEFAULT_TIMEOUT})`);
    timeout = PROBE_DEFAULT_TIMEOUT;
  }
  const check: Record<string, unknown> = { kind: 'http', path, host, timeout, expect: { status } };
  if (scheme === 'https') check.scheme = 'https';
  if (probe.mustContainRegexp !== undefined) {
    try {
      new RegExp(probe.mustContainRegexp);
      (check.expect as Record<string, unknown>).body = { regex: probe.mustContainRegexp };
    } catch (err) {
      dropped.push(`must_contain_regexp (${(err as Error).message})`);
    }
  }
  const tls = scheme === 'https' ? ` over TLS verified for ${host} as the probe does` : '';
  const summary = `GET ${path} with Host ${host}${tls}, expecting status ${status.join(', ')} within ${timeout}`;
  return { check, probe, summary, dropped };
}
