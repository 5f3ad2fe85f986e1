// Readers for the two table dumps of ipvsadm 1.31: the listing (`ipvsadm -Ln`) and the rules
// (`ipvsadm -S -n` / `--save -n`). Both give services with scheduler and real servers with forwarding
// method and weight. Anything we do not understand is an error naming the line: guessing here
// would let the agent "repair" a table it misread.
import type { LvsMethod } from '../model/types.js';
import { IpvsParseError } from './errors.js';
import { canonicalAddress, sortTable, type IpvsProtocol, type IpvsTable, type RealServer, type VirtualService } from './table.js';

const FORWARD_NAMES: Record<string, LvsMethod> = { Route: 'g', Local: 'g', Tunnel: 'i', Masq: 'm' };
const LIST_PROTOCOLS: Record<string, IpvsProtocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

interface Line {
  no: number;
  text: string;
}

function lines(output: string): Line[] {
  return output
    .split('\n')
    .map((text, i) => ({ no: i + 1, text: text.replace(/\r$/, '') }))
    .filter((l) => l.text.trim() !== '');
}

/** `10.0.0.1:80` or `[2620::1]:80` → address and port. */
function splitAddrPort(text: string, line: Line): { address: string; port: number } {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([0-9.]+):(\d+)$/.exec(text);
  if (!m) throw new IpvsParseError(`expected ADDRESS:PORT (numeric output, -n), got ${JSON.stringify(text)}`, line.no, line.text);
  const port = Number(m[2]);
  if (port > 65535) throw new IpvsParseError(`port ${port} out of range`, line.no, line.text);
  let address: string;
  try {
    address = canonicalAddress(m[1]!, `line ${line.no}`);
  } catch (err) {
    throw new IpvsParseError((err as Error).message, line.no, line.text);
  }
  return { address, port };
}

function parseWeight(text: string, line: Line): number {
  if (!/^\d+$/.test(text)) throw new IpvsParseError(`weight ${JSON.stringify(text)} is not a number`, line.no, line.text);
  return Number(text);
}

/** Parse `ipvsadm -Ln` (or `-L -n`) output. */
export function parseList(output: string): IpvsTable {
  const services: VirtualService[] = [];
  let current: VirtualService | undefined;
  for (const line of lines(output)) {
    const text = line.text;
    if (/^IP Virtual Server version /.test(text) || /^Prot LocalAddress:Port/.test(text) || /^\s+-> RemoteAddress:Port/.test(text)) {
      continue;
    }
    const dest = /^\s+->\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s*$/.exec(text);
    if (dest) {
      if (!current) throw new IpvsParseError('real server line before any virtual service', line.no, text);
      const method = FORWARD_NAMES[dest[2]!];
      if (!method) throw new IpvsParseError(`unknown forwarding method ${JSON.stringify(dest[2])}`, line.no, text);
      const { address, port } = splitAddrPort(dest[1]!, line);
      current.servers.push({ address, port, method, weight: parseWeight(dest[3]!, line) });
      continue;
    }
    const fwm = /^FWM\s+(\d+)(\s+IPv6)?\s+(\S+)(.*)$/.exec(text);
    if (fwm) {
      current = { protocol: 'fwm', address: fwm[1]!, port: 0, scheduler: fwm[3]!, flags: flagWords(fwm[4]!), servers: [] };
      services.push(current);
      continue;
    }
    const svc = /^(TCP|UDP|SCTP)\s+(\S+)\s+(\S+)(.*)$/.exec(text);
    if (svc) {
      const { address, port } = splitAddrPort(svc[2]!, line);
      current = { protocol: LIST_PROTOCOLS[svc[1]!]!, address, port, scheduler: svc[3]!, flags: flagWords(svc[4]!), servers: [] };
      services.push(current);
      continue;
    }
    throw new IpvsParseError('not an ipvsadm -Ln line', line.no, text);
  }
  return sortTable({ services });
}

function flagWords(rest: string): string[] {
  const t = rest.trim();
  return t === '' ? [] : t.split(/\s+/);
}

const SAVE_PROTOCOLS: Record<string, IpvsProtocol> = {
  '-t': 'tcp',
  '--tcp-service': 'tcp',
  '-u': 'udp',
  '--udp-service': 'udp',
  '--sctp-service': 'sctp',
  '-f': 'fwm',
  '--fwmark-service': 'fwm',
};

const SAVE_METHODS: Record<string, LvsMethod> = {
  '-g': 'g',
  '--gatewaying': 'g',
  '-i': 'i',
  '--ipip': 'i',
  '-m': 'm',
  '--masquerading': 'm',
};

/** Parse `ipvsadm -S -n` output (also valid `ipvsadm -R` input of the same subset). */
export function parseSave(output: string): IpvsTable {
  const services = new Map<string, VirtualService>();
  for (const line of lines(output)) {
    const words = line.text.trim().split(/\s+/);
    const [cmd, protoSwitch, target] = words;
    const protocol = protoSwitch === undefined ? undefined : SAVE_PROTOCOLS[protoSwitch];
    if ((cmd !== '-A' && cmd !== '-a') || !protocol || target === undefined) {
      throw new IpvsParseError('expected "-A|-a -t|-u|-f SERVICE ..."', line.no, line.text);
    }
    const id = protocol === 'fwm' ? { address: target, port: 0 } : splitAddrPort(target, line);
    const key = `${protocol} ${id.address} ${id.port}`;
    const rest = words.slice(3);
    if (cmd === '-A') {
      let scheduler: string | undefined;
      const flags: string[] = [];
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '-s' || rest[i] === '--scheduler') scheduler = rest[++i];
        else flags.push(rest[i]!);
      }
      if (!scheduler) throw new IpvsParseError('service without -s SCHEDULER', line.no, line.text);
      if (services.has(key)) throw new IpvsParseError('virtual service listed twice', line.no, line.text);
      services.set(key, { protocol, ...id, scheduler, flags, servers: [] });
      continue;
    }
    const vs = services.get(key);
    if (!vs) throw new IpvsParseError('real server of a virtual service not listed before it', line.no, line.text);
    let server: Partial<RealServer> = {};
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i]!;
      if (w === '-r' || w === '--real-server') {
        const target = rest[++i];
        if (target === undefined) throw new IpvsParseError('-r without an address', line.no, line.text);
        server = { ...server, ...splitAddrPort(target, line) };
      } else if (w === '-w' || w === '--weight') {
        server.weight = parseWeight(rest[++i] ?? '', line);
      } else if (SAVE_METHODS[w]) {
        server.method = SAVE_METHODS[w];
      } else if (w === '-x' || w === '-y' || w === '--u-threshold' || w === '--l-threshold' || w === '--tun-type' || w === '--tun-port') {
        i++; // thresholds and tunnel options are not managed by us; their value is skipped with them
      } else if (!/^--tun-/.test(w)) {
        throw new IpvsParseError(`unexpected ${JSON.stringify(w)} in real server line`, line.no, line.text);
      }
    }
    if (server.address === undefined || server.port === undefined) throw new IpvsParseError('real server line without -r', line.no, line.text);
    vs.servers.push({ address: server.address, port: server.port, method: server.method ?? 'g', weight: server.weight ?? 1 });
  }
  return sortTable({ services: [...services.values()] });
}
