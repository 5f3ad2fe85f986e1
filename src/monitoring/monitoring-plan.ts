// What Icinga should monitor, independent of syntax: icinga2.ts and nagios.ts serialize this plan.
// Per backend: one service running `poolctl check <dc/name> <host> --nagios`, i.e. the same
// check code as the daemon. Per pool: one service reading poold's /alerts the check_pybal way.
// The `poold_*` vars describe the pool's definition of healthy so drift can compare a deployed config.
import type { HttpCheckDef, ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { formatStatusRanges, httpCheckHostHeader } from '../config/pybal-render.js';

export const DEFAULT_POOLCTL = '/usr/bin/poolctl';

export interface MonitoringOptions {
  /** Base URL of poold's HTTP API, e.g. http://poold.svc.eqiad.wmnet:9090 */
  pooldUrl: string;
  /** Path of poolctl on the Icinga host. */
  poolctlPath?: string;
  /** Define Host objects for backends (off when puppet already defines them). Default true. */
  defineBackendHosts?: boolean;
  checkIntervalS?: number;
  retryIntervalS?: number;
  maxCheckAttempts?: number;
}

export type VarValue = string | number | boolean | string[];

/**
 * A command token: literal text; a per-service variable (`$name$` in Icinga 2, `$ARGn$` in Nagios); or an
 * option with a value that is left out when the service does not set the variable (Icinga 2 skips
 * arguments whose macro is unset; Nagios passes an empty quoted value, which poolctl reads as "not given").
 */
export type CommandToken = { literal: string } | { var: string } | { option: string; var: string };

export interface PlanCommand {
  name: string;
  argv: CommandToken[];
}

export interface PlanHost {
  name: string;
  displayName: string;
  address: string;
  vars: Record<string, VarValue>;
}

export interface PlanService {
  host: string;
  name: string;
  displayName: string;
  command: string;
  vars: Record<string, VarValue>;
  notes?: string;
  contactGroups?: string[];
}

export interface MonitoringPlan {
  commands: PlanCommand[];
  hosts: PlanHost[];
  services: PlanService[];
  checkIntervalS: number;
  retryIntervalS: number;
  maxCheckAttempts: number;
}

export const POOLD_CHECK = 'poold-check';
export const POOLD_ALERTS = 'poold-alerts';

/** Icinga service name of a backend's health service (downtime filters and drift key on the vars, not this). */
export function backendServiceName(svc: ServiceDef): string {
  return `poold ${servicePath(svc)}`;
}

export function pooldHostName(dc: string): string {
  return `poold-${dc}`;
}

export function vipHostName(dc: string, section: string): string {
  return `lvs-${dc}-${section}`;
}

export function alertsUrl(pooldUrl: string): string {
  return `${pooldUrl.replace(/\/+$/, '')}/alerts`;
}

/** The definition of healthy of the first http check, as vars (what drift compares). */
export function httpCheckVars(check: HttpCheckDef, svc: ServiceDef): Record<string, VarValue> {
  return {
    poold_http_check: check.name,
    poold_http_scheme: check.scheme,
    poold_http_paths: [...check.urls],
    poold_http_host: httpCheckHostHeader(check, svc),
    poold_http_port: check.port ?? svc.lvs.port,
    poold_http_timeout: check.timeoutMs / 1000,
    poold_http_status: formatStatusRanges(check.expect.status),
  };
}

function hostAddress(name: string, svc: ServiceDef): string {
  return svc.servers[name].address ?? name;
}

export function buildMonitoringPlan(services: ServiceDef[], opts: MonitoringOptions): MonitoringPlan {
  const poolctl = opts.poolctlPath ?? DEFAULT_POOLCTL;
  const sorted = [...services].sort((a, b) => servicePath(a).localeCompare(servicePath(b), 'en'));
  const hosts = new Map<string, PlanHost>();
  const planServices: PlanService[] = [];
  const url = alertsUrl(opts.pooldUrl);
  const pooldAddress = new URL(opts.pooldUrl).hostname.replace(/^\[|\]$/g, '');

  const dcs = [...new Set(sorted.map((s) => s.dc))].sort();
  for (const dc of dcs) {
    const name = pooldHostName(dc);
    hosts.set(name, { name, displayName: `poold (${dc})`, address: pooldAddress, vars: { poold_dc: dc } });
    planServices.push({ host: name, name: 'poold alerts', displayName: `poold /alerts (${dc})`, command: POOLD_ALERTS, vars: { poold_alerts_url: url } });
    const inDc = sorted.filter((s) => s.dc === dc);
    for (const svc of inDc) {
      const section = svc.name;
      const vip = vipHostName(dc, section);
      hosts.set(vip, { name: vip, displayName: `LVS ${section} (${dc}) ${svc.lvs.ip}:${svc.lvs.port}`, address: svc.lvs.ip, vars: { poold_service: servicePath(svc) } });
      const common = { notes: svc.monitoring.notes, contactGroups: svc.monitoring.contactGroups };
      planServices.push({
        host: vip,
        name: `pool ${servicePath(svc)}`,
        displayName: `${section} pool health (${dc})`,
        command: POOLD_ALERTS,
        vars: {
          poold_alerts_url: url,
          poold_pool: section,
          poold_service: servicePath(svc),
          poold_depool_threshold: svc.depoolThreshold,
          poold_backends: Object.keys(svc.servers).sort(),
        },
        ...common,
      });
      const http = svc.checks.find((c): c is HttpCheckDef => c.kind === 'http');
      for (const backend of Object.keys(svc.servers).sort()) {
        if (opts.defineBackendHosts !== false && !hosts.has(backend)) {
          hosts.set(backend, { name: backend, displayName: backend, address: hostAddress(backend, svc), vars: {} });
        }
        planServices.push({
          host: backend,
          name: backendServiceName(svc),
          displayName: `${svc.name} health (${servicePath(svc)})`,
          command: POOLD_CHECK,
          vars: {
            poold_service: servicePath(svc),
            poold_backend: backend,
            poold_checks: svc.checks.map((c) => c.name),
            ...(http ? httpCheckVars(http, svc) : {}),
          },
          ...common,
        });
      }
    }
  }
  return {
    commands: [
      { name: POOLD_CHECK, argv: [{ literal: poolctl }, { literal: 'check' }, { var: 'poold_service' }, { var: 'poold_backend' }, { literal: '--nagios' }] },
      { name: POOLD_ALERTS, argv: [{ literal: poolctl }, { literal: 'alerts' }, { literal: '--nagios' }, { option: '--url', var: 'poold_alerts_url' }, { option: '--pool', var: 'poold_pool' }] },
    ],
    hosts: [...hosts.values()].sort((a, b) => a.name.localeCompare(b.name, 'en')),
    services: planServices.sort((a, b) => a.host.localeCompare(b.host, 'en') || a.name.localeCompare(b.name, 'en')),
    checkIntervalS: opts.checkIntervalS ?? 60,
    retryIntervalS: opts.retryIntervalS ?? 20,
    maxCheckAttempts: opts.maxCheckAttempts ?? 3,
  };
}
