// pybal.conf → typed LVS service sections. Values are read the way PyBal reads them: getint/getfloat/
// getboolean on the raw string, and eval() (here: the Python-literal subset) for lists such as
// `monitors` and `proxyfetch.url`. Every problem in the file is reported, each as file:line:col.
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { parseIni, type IniOption, type IniSection } from './pybal-ini.js';
import { parsePyLiteral, PyName, type PyValue } from './pybal-literal.js';
import { vipKey } from './pools/vip-med.js';
import { BGP_MED_MAX } from '../model/types.js';

export const PYBAL_MONITORS = ['ProxyFetch', 'IdleConnection', 'RunCommand', 'DNSQuery', 'UDP'] as const;

export interface ProxyFetchConf {
  urls: string[];
  timeoutS: number;
  httpStatus: number;
  checkAll: boolean;
  maxFailures: number;
  intervalS: number;
}

export interface IdleConnectionConf {
  timeoutCleanReconnectS: number;
  maxDelayS: number;
}

export interface RunCommandConf {
  command: string;
  /** Strings, or names such as `server.host` that PyBal resolves per server. */
  arguments: Array<string | PyName>;
  timeoutS: number;
  intervalS: number;
}

export interface DnsQueryConf {
  hostnames: string[];
  failOnNxdomain: boolean;
  intervalS: number;
}

export interface PybalServiceConf {
  /** The section name: PyBal's pool name. */
  name: string;
  line: number;
  section: IniSection;
  protocol: 'tcp' | 'udp';
  ip: string;
  port: number;
  scheduler: string;
  config: string;
  depoolThreshold: number;
  /** PyBal's per-service `bgp` (default yes): announce this service's VIP. */
  bgp: boolean;
  /** `tunneling = true`: real servers are reached through IPIP (`ipvsadm -i`); default direct routing. */
  tunneling: boolean;
  /** PyBal's per-service `bgp-med`: the MED of this VIP's announcement; absent, [global] bgp-med (default 0). */
  bgpMed?: number;
  monitors: string[];
  proxyfetch?: ProxyFetchConf;
  idleconnection?: IdleConnectionConf;
  runcommand?: RunCommandConf;
  dnsquery?: DnsQueryConf;
  /** Lowercased option names this parser interpreted; the rest are carried as raw options. */
  understood: Set<string>;
}

export interface PybalConf {
  file: string;
  global?: IniSection;
  services: PybalServiceConf[];
  warnings: ConfigProblem[];
}

// PyBal's own defaults (monitor class constants and coordinator fallbacks).
const DEFAULTS = {
  depoolThreshold: 0.5,
  proxyfetchTimeout: 5,
  proxyfetchStatus: 200,
  proxyfetchInterval: 10,
  idleReconnect: 3,
  idleMaxDelay: 300,
  runcommandTimeout: 20,
  runcommandInterval: 60,
  dnsInterval: 10,
};

const TRUE_WORDS = ['t', 'true', 'y', 'yes', 'on', '1'];
const FALSE_WORDS = ['f', 'false', 'n', 'no', 'off', '0'];

/** A boolean option's value as PyBal's getboolean reads it (undefined when it is not a boolean word). */
export function pybalBoolean(text: string): boolean | undefined {
  const v = text.toLowerCase();
  return TRUE_WORDS.includes(v) ? true : FALSE_WORDS.includes(v) ? false : undefined;
}

/** Reads options of one section, collecting problems instead of stopping at the first. */
class SectionReader {
  readonly understood = new Set<string>();
  constructor(
    readonly file: string,
    readonly section: IniSection,
    readonly problems: ConfigProblem[],
  ) {}

  private problem(o: IniOption, message: string, offset = 0): void {
    this.problems.push({ file: this.file, line: o.line, col: o.valueCol + offset, message: `[${this.section.name}] ${o.rawName}: ${message}` });
  }

  opt(name: string): IniOption | undefined {
    this.understood.add(name);
    return this.section.options.get(name);
  }

  required(name: string): IniOption | undefined {
    const o = this.opt(name);
    if (!o) {
      this.problems.push({ file: this.file, line: this.section.line, col: 1, message: `[${this.section.name}] missing required option ${name}` });
    }
    return o;
  }

  string(name: string, required: boolean): string | undefined {
    const o = required ? this.required(name) : this.opt(name);
    if (!o) return undefined;
    if (o.value === '') this.problem(o, 'empty value');
    return o.value;
  }

  int(name: string, def: number | undefined, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const o = def === undefined ? this.required(name) : this.opt(name);
    if (!o) return def;
    if (!/^[+-]?\d+$/.test(o.value)) {
      this.problem(o, `expected an integer, got ${JSON.stringify(o.value)}`);
      return def;
    }
    const n = Number(o.value);
    if (n < min || n > max) this.problem(o, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  float(name: string, def: number, min: number, max: number): number {
    const o = this.opt(name);
    if (!o) return def;
    const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(o.value) ? Number(o.value) : NaN;
    if (Number.isNaN(n)) {
      this.problem(o, `expected a number, got ${JSON.stringify(o.value)}`);
      return def;
    }
    if (n < min || n > max) this.problem(o, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const o = this.opt(name);
    if (!o) return def;
    const v = o.value.toLowerCase();
    if (TRUE_WORDS.includes(v)) return true;
    if (FALSE_WORDS.includes(v)) return false;
    this.problem(o, `expected a boolean (yes/no, true/false, on/off, 1/0), got ${JSON.stringify(o.value)}`);
    return def;
  }

  literal(name: string, required: boolean): { value: PyValue; option: IniOption } | undefined {
    const o = required ? this.required(name) : this.opt(name);
    if (!o) return undefined;
    // Continuation lines joined with \n: the column is only exact for single-line values.
    const r = parsePyLiteral(o.value);
    if (!r.ok) {
      this.problem(o, `not a Python literal: ${r.message}`, o.value.includes('\n') ? 0 : r.offset);
      return undefined;
    }
    return { value: r.value, option: o };
  }

  /** PyBal's _getConfigStringList: one string, or a non-empty list of strings. */
  stringList(name: string, required: boolean, allowNames = false): Array<string | PyName> | undefined {
    const lit = this.literal(name, required);
    if (!lit) return undefined;
    const v = lit.value;
    if (typeof v === 'string') return [v];
    const ok = (x: PyValue) => typeof x === 'string' || (allowNames && x instanceof PyName);
    if (Array.isArray(v) && v.length > 0 && v.every(ok)) return v as Array<string | PyName>;
    this.problem(lit.option, allowNames ? 'expected a non-empty list of strings or names like server.host' : 'expected a string or a non-empty list of strings');
    return undefined;
  }
}

function parseService(file: string, section: IniSection, problems: ConfigProblem[]): PybalServiceConf | null {
  const before = problems.length;
  const r = new SectionReader(file, section, problems);
  const protocolOpt = r.required('protocol');
  let protocol: 'tcp' | 'udp' = 'tcp';
  if (protocolOpt) {
    const p = protocolOpt.value.toLowerCase();
    if (p === 'tcp' || p === 'udp') protocol = p;
    else problems.push({ file, line: protocolOpt.line, col: protocolOpt.valueCol, message: `[${section.name}] protocol: expected tcp or udp, got ${JSON.stringify(protocolOpt.value)}` });
  }
  const ip = r.string('ip', true) ?? '';
  const port = r.int('port', undefined, 1, 65535) ?? 0;
  const scheduler = r.string('scheduler', true) ?? '';
  const config = r.string('config', true) ?? '';
  const depoolThreshold = r.float('depool-threshold', DEFAULTS.depoolThreshold, 0, 1);
  const bgp = r.bool('bgp', true);
  const tunneling = r.bool('tunneling', false);
  // Optional: only present sections carry it (absent and 0 differ to PyBal, see medProblems).
  const bgpMed = section.options.has('bgp-med') ? r.int('bgp-med', 0, 0, BGP_MED_MAX) : undefined;
  r.bool('ops', false);

  const monitors: string[] = [];
  const mon = r.stringList('monitors', false);
  if (mon) {
    const o = section.options.get('monitors')!;
    for (const m of mon as string[]) {
      if (!(PYBAL_MONITORS as readonly string[]).includes(m)) {
        problems.push({ file, line: o.line, col: o.valueCol, message: `[${section.name}] monitors: unknown monitor ${JSON.stringify(m)} (known: ${PYBAL_MONITORS.join(', ')})` });
      } else monitors.push(m);
    }
  }

  const svc: PybalServiceConf = {
    name: section.name,
    line: section.line,
    section,
    protocol,
    ip,
    port,
    scheduler,
    config,
    depoolThreshold,
    bgp,
    tunneling,
    ...(bgpMed !== undefined ? { bgpMed } : {}),
    monitors,
    understood: r.understood,
  };
  // Monitor options are read only for monitors that are enabled, as PyBal does; options of absent
  // monitors stay "not understood" so import and drift can point at them.
  if (monitors.includes('ProxyFetch')) {
    const urls = r.stringList('proxyfetch.url', true) as string[] | undefined;
    const checkAll = r.bool('proxyfetch.check_all', false);
    svc.proxyfetch = {
      urls: urls ?? [],
      timeoutS: r.int('proxyfetch.timeout', DEFAULTS.proxyfetchTimeout, 1)!,
      httpStatus: r.int('proxyfetch.http_status', DEFAULTS.proxyfetchStatus, 100, 599)!,
      checkAll,
      maxFailures: checkAll ? r.int('proxyfetch.max_failures', 0, 0)! : 0,
      intervalS: r.int('proxyfetch.interval', DEFAULTS.proxyfetchInterval, 1)!,
    };
    for (const [i, u] of (urls ?? []).entries()) {
      if (!/^https?:\/\/[^/\s]+/.test(u)) {
        const o = section.options.get('proxyfetch.url')!;
        problems.push({ file, line: o.line, col: o.valueCol, message: `[${section.name}] proxyfetch.url: entry ${i + 1} ${JSON.stringify(u)} is not an http:// or https:// URL` });
      }
    }
  }
  if (monitors.includes('IdleConnection')) {
    svc.idleconnection = {
      timeoutCleanReconnectS: r.int('idleconnection.timeout-clean-reconnect', DEFAULTS.idleReconnect, 0)!,
      maxDelayS: r.int('idleconnection.max-delay', DEFAULTS.idleMaxDelay, 0)!,
    };
  }
  if (monitors.includes('RunCommand')) {
    const command = r.string('runcommand.command', true) ?? '';
    svc.runcommand = {
      command,
      arguments: r.stringList('runcommand.arguments', false, true) ?? [],
      timeoutS: r.int('runcommand.timeout', DEFAULTS.runcommandTimeout, 1)!,
      intervalS: r.int('runcommand.interval', DEFAULTS.runcommandInterval, 1)!,
    };
  }
  if (monitors.includes('DNSQuery')) {
    svc.dnsquery = {
      hostnames: (r.stringList('dnsquery.hostnames', true) as string[] | undefined) ?? [],
      failOnNxdomain: r.bool('dnsquery.fail-on-nxdomain', false),
      intervalS: r.int('dnsquery.interval', DEFAULTS.dnsInterval, 1)!,
    };
  }
  return problems.length === before ? svc : null;
}

/** Parses pybal.conf text; throws ConfigError listing every problem found. */
export function parsePybalConf(text: string, file: string): PybalConf {
  const ini = parseIni(text, file);
  const problems = [...ini.problems];
  const conf: PybalConf = { file, services: [], warnings: [...ini.warnings] };
  for (const section of ini.sections) {
    if (section.name === 'global') {
      conf.global = section;
      continue;
    }
    const svc = parseService(file, section, problems);
    if (svc) conf.services.push(svc);
  }
  problems.push(...medProblems(file, conf.services));
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigError(problems);
  }
  return conf;
}

/**
 * PyBal refuses to start when the sections (with bgp on) of one IP differ in bgp-med, comparing the
 * settings themselves: a section without bgp-med next to one with it differs too.
 */
function medProblems(file: string, services: readonly PybalServiceConf[]): ConfigProblem[] {
  const first = new Map<string, PybalServiceConf>();
  const out: ConfigProblem[] = [];
  for (const s of services) {
    if (!s.bgp || s.ip === '') continue;
    const f = first.get(vipKey(s.ip));
    if (f === undefined) first.set(vipKey(s.ip), s);
    else if (f.bgpMed !== s.bgpMed) {
      const o = s.section.options.get('bgp-med') ?? s.section.options.get('ip')!;
      const med = (x: PybalServiceConf) => (x.bgpMed === undefined ? 'no bgp-med' : `bgp-med ${x.bgpMed}`);
      out.push({ file, line: o.line, col: o.valueCol, message: `[${s.name}] ${o.rawName}: ${med(s)} differs from [${f.name}] (${med(f)}, line ${f.section.options.get('bgp-med')?.line ?? f.line}) on IP ${s.ip}: PyBal refuses to start (every bgp service of one IP must have the same MED)` });
    }
  }
  return out;
}

/** Options of a section that the typed parse did not interpret, in file order. */
export function uninterpretedOptions(svc: PybalServiceConf): IniOption[] {
  return [...svc.section.options.values()].filter((o) => !svc.understood.has(o.name)).sort((a, b) => a.line - b.line);
}
