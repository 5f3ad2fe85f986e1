// The LVS agent's BGP settings (issue 15), with PyBal's option names: PyBal's [global] `bgp = yes`,
// `bgp-local-asn`, `bgp-peer-address`, `bgp-med`, `bgp-nexthop-ipv4`/`-ipv6`, `bgp-local-ips`,
// `bgp-local-port` become `poolctl lvs agent --bgp --bgp-local-asn ...`. What PyBal does not have:
//   - `bgp-peer-asn`: PyBal accepts whatever AS the router announces; gobgpd must be told it;
//   - `bgp-hold-time`: PyBal hard-codes its timers; the negotiated hold time is the lower of both sides';
//   - `bgp-policy`: when a VIP is withdrawn although the agent runs (see bgp-plan.ts);
//   - `bgp-default`: whether services without a `bgp` setting are announced (PyBal: yes).
// The MED is per LVS host: the primary gets the lower one, so routers prefer it (PyBal's convention).
// Pure: validation only; bgp-daemon.ts turns this into gobgpd's configuration.
import { isIPv4, isIPv6 } from 'node:net';
import { parseDuration } from '../model/duration.js';
import { UsageError } from '../model/errors.js';

/**
 * keep: a VIP stays announced while the agent runs and its service is defined with bgp on, even
 *   when no real server is left (PyBal's behaviour: only a stop or a config change withdraws).
 * withdraw-when-empty: a VIP is withdrawn when every service on it has no real server left
 *   (draining servers count as still serving), so routers send its traffic to another LVS host.
 */
export type BgpPolicy = 'keep' | 'withdraw-when-empty';
export const BGP_POLICIES: readonly BgpPolicy[] = ['keep', 'withdraw-when-empty'];

export interface BgpConfig {
  /** PyBal `bgp-local-asn`. */
  localAsn: number;
  /** The routers' AS (gobgpd needs it; PyBal accepted any). */
  peerAsn: number;
  /** PyBal `bgp-peer-address`: one or more routers. */
  peers: string[];
  /** PyBal `bgp-med` (default 0): lower on the primary LVS host. */
  med: number;
  /** PyBal `bgp-nexthop-ipv4` / `-ipv6`: required to announce a VIP of that family. */
  nexthopIpv4?: string;
  nexthopIpv6?: string;
  /** BGP identifier; default the IPv4 next hop. */
  routerId: string;
  /** PyBal `bgp-local-ips`: addresses gobgpd listens on for routers that connect to it (default all). */
  localIps: string[];
  /** PyBal `bgp-local-port` (default 179); -1: do not listen, only connect out. */
  localPort: number;
  /** Hold time offered to the routers, seconds (keepalives every third of it). Default 90 (RFC 4271's suggestion, gobgpd's default). */
  holdTimeS: number;
  /** Seconds between connection attempts to a router that is down. Default 5 (gobgpd's own default is 120). */
  connectRetryS: number;
  policy: BgpPolicy;
  /** Announce services whose definition has no `bgp` setting (PyBal: yes). */
  announceByDefault: boolean;
  gobgpdPath: string;
  gobgpPath: string;
  /** Run gobgpd in this network namespace (`ip netns exec`): tests, or hosts that route from one. */
  netns?: string;
  /** How often the agent re-reads gobgpd's RIB and neighbours (repairs lost routes). Default 5000 ms. */
  pollMs: number;
  /** Parent directory of gobgpd's private runtime directory (config, API socket). Default the OS tmpdir. */
  runDir?: string;
}

export const BGP_DEFAULTS = {
  med: 0,
  localPort: 179,
  holdTimeS: 90,
  connectRetryS: 5,
  policy: 'keep' as BgpPolicy,
  announceByDefault: true,
  gobgpdPath: '/usr/bin/gobgpd',
  gobgpPath: '/usr/bin/gobgp',
  pollMs: 5000,
} as const;

/** The flags of `poolctl lvs agent` that configure BGP, as commander hands them over. */
export interface BgpFlags {
  bgp?: boolean;
  bgpLocalAsn?: string;
  bgpPeerAsn?: string;
  bgpPeerAddress?: string;
  bgpMed?: string;
  bgpNexthopIpv4?: string;
  bgpNexthopIpv6?: string;
  bgpRouterId?: string;
  bgpLocalIps?: string;
  bgpLocalPort?: string;
  bgpHoldTime?: string;
  bgpConnectRetry?: string;
  bgpPolicy?: string;
  bgpDefault?: string;
  bgpNetns?: string;
  bgpPoll?: string;
  gobgpd?: string;
  gobgp?: string;
}

function fail(message: string): never {
  throw new UsageError(`lvs agent: ${message}`, {});
}

function asn(text: string | undefined, flag: string): number {
  if (text === undefined) fail(`--bgp needs ${flag}`);
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 4294967295) fail(`${flag} "${text}" is not an AS number (1..4294967295)`);
  return Number(text);
}

function int(text: string | undefined, flag: string, min: number, max: number, def: number): number {
  if (text === undefined) return def;
  if (!/^-?\d+$/.test(text) || Number(text) < min || Number(text) > max) fail(`${flag} "${text}" must be an integer ${min}..${max}`);
  return Number(text);
}

function seconds(text: string | undefined, flag: string, def: number): number {
  if (text === undefined) return def;
  const ms = parseDuration(text);
  if (ms === null || ms % 1000 !== 0 || ms <= 0) fail(`${flag} "${text}" must be a whole number of seconds, such as 90s`);
  return ms / 1000;
}

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** The BgpConfig the flags describe, undefined without --bgp; a UsageError names the first bad flag. */
export function bgpConfigFromFlags(f: BgpFlags): BgpConfig | undefined {
  const bgpFlags = Object.entries(f).filter(([k, v]) => v !== undefined && k !== 'bgp').map(([k]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (!f.bgp) {
    if (bgpFlags.length > 0) fail(`BGP options given without --bgp (${bgpFlags.join(', ')}); add --bgp to announce VIPs`);
    return undefined;
  }
  const peers = list(f.bgpPeerAddress);
  if (peers.length === 0) fail('--bgp needs --bgp-peer-address (the routers, comma-separated)');
  for (const p of peers) if (!isIPv4(p) && !isIPv6(p)) fail(`--bgp-peer-address "${p}" is not an IP address`);
  if (new Set(peers).size !== peers.length) fail('--bgp-peer-address lists a router twice');
  if (f.bgpNexthopIpv4 !== undefined && !isIPv4(f.bgpNexthopIpv4)) fail(`--bgp-nexthop-ipv4 "${f.bgpNexthopIpv4}" is not an IPv4 address`);
  if (f.bgpNexthopIpv6 !== undefined && !isIPv6(f.bgpNexthopIpv6)) fail(`--bgp-nexthop-ipv6 "${f.bgpNexthopIpv6}" is not an IPv6 address`);
  if (f.bgpNexthopIpv4 === undefined && f.bgpNexthopIpv6 === undefined) fail('--bgp needs --bgp-nexthop-ipv4 and/or --bgp-nexthop-ipv6 (this host\'s address routers forward VIP traffic to)');
  const routerId = f.bgpRouterId ?? f.bgpNexthopIpv4;
  if (routerId === undefined) fail('--bgp needs --bgp-router-id (an IPv4 address) when there is no --bgp-nexthop-ipv4');
  if (!isIPv4(routerId)) fail(`--bgp-router-id "${routerId}" is not an IPv4 address`);
  const localIps = list(f.bgpLocalIps);
  for (const ip of localIps) if (!isIPv4(ip) && !isIPv6(ip)) fail(`--bgp-local-ips "${ip}" is not an IP address`);
  const policy = f.bgpPolicy ?? BGP_DEFAULTS.policy;
  if (!BGP_POLICIES.includes(policy as BgpPolicy)) fail(`--bgp-policy "${policy}" must be one of ${BGP_POLICIES.join(', ')}`);
  const def = f.bgpDefault ?? 'yes';
  if (def !== 'yes' && def !== 'no') fail(`--bgp-default "${def}" must be yes or no`);
  const localPort = int(f.bgpLocalPort, '--bgp-local-port', -1, 65535, BGP_DEFAULTS.localPort);
  if (localPort === 0) fail('--bgp-local-port 0 is not a port (-1 disables listening)');
  const holdTimeS = seconds(f.bgpHoldTime, '--bgp-hold-time', BGP_DEFAULTS.holdTimeS);
  // RFC 4271: 0 (no keepalives) or at least 3 seconds.
  if (holdTimeS < 3 || holdTimeS > 65535) fail(`--bgp-hold-time ${holdTimeS}s must be 3..65535 seconds`);
  const pollMs = f.bgpPoll === undefined ? BGP_DEFAULTS.pollMs : parseDuration(f.bgpPoll);
  if (pollMs === null || pollMs < 100) fail(`--bgp-poll "${f.bgpPoll}" must be a duration of at least 100ms`);
  if (f.bgpNetns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(f.bgpNetns)) fail(`--bgp-netns "${f.bgpNetns}" is not a namespace name`);
  return {
    localAsn: asn(f.bgpLocalAsn, '--bgp-local-asn'),
    peerAsn: asn(f.bgpPeerAsn, '--bgp-peer-asn'),
    peers,
    med: int(f.bgpMed, '--bgp-med', 0, 4294967295, BGP_DEFAULTS.med),
    ...(f.bgpNexthopIpv4 !== undefined ? { nexthopIpv4: f.bgpNexthopIpv4 } : {}),
    ...(f.bgpNexthopIpv6 !== undefined ? { nexthopIpv6: f.bgpNexthopIpv6 } : {}),
    routerId,
    localIps,
    localPort,
    holdTimeS,
    connectRetryS: seconds(f.bgpConnectRetry, '--bgp-connect-retry', BGP_DEFAULTS.connectRetryS),
    policy: policy as BgpPolicy,
    announceByDefault: def === 'yes',
    gobgpdPath: f.gobgpd ?? BGP_DEFAULTS.gobgpdPath,
    gobgpPath: f.gobgp ?? BGP_DEFAULTS.gobgpPath,
    ...(f.bgpNetns !== undefined ? { netns: f.bgpNetns } : {}),
    pollMs,
  };
}
