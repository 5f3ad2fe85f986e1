// Validates a service definition read back from etcd. `poolctl sync` writes normalized definitions,
// but etcd is shared: another tool (or a hand edit) may store something poold cannot run. The
// daemon then keeps the last good definition and alerts, so this must name every problem.
import { InvalidStoredValueError } from './errors.js';
import { BGP_MED_MAX, type ServiceDef } from './types.js';

const KINDS = new Set(['http', 'tcp', 'idle-connection', 'command', 'dns']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown) =>
  (
    // Stryker disable next-line ConditionalExpression: the typeof operand becoming true is equivalent, Number.isInteger rejects every non-number
    typeof v === 'number'
  ) &&
  Number.isInteger(v) &&
  v > 0;

export function validateServiceDef(key: string, raw: unknown): ServiceDef {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  if (!isObj(raw)) throw new InvalidStoredValueError(`invalid service definition at ${key}: not a JSON object`, { key });
  for (const f of ['dc', 'name', 'catalog'] as const) need(typeof raw[f] === 'string' && raw[f] !== '', `${f} must be a non-empty string`);
  const pool = raw.pool;
  if (!isObj(pool)) problems.push('pool must be an object { cluster, service } (definitions written before LVS services named their pool: run poolctl sync again)');
  else for (const f of ['cluster', 'service'] as const) need(typeof pool[f] === 'string' && pool[f] !== '', `pool.${f} must be a non-empty string`);
  const lvs = raw.lvs;
  if (!isObj(lvs)) problems.push('lvs must be an object');
  else {
    need(typeof lvs.ip === 'string', 'lvs.ip must be a string');
    need(isPosInt(lvs.port) && (lvs.port as number) <= 65535, 'lvs.port must be 1-65535');
    need(lvs.protocol === 'tcp' || lvs.protocol === 'udp', 'lvs.protocol must be tcp or udp');
    need(typeof lvs.scheduler === 'string', 'lvs.scheduler must be a string');
    // PyBal's per-service bgp-med (optional): a 32-bit MED.
    const med = lvs.bgpMed;
    need(
      med === undefined ||
        ((
          // Stryker disable next-line ConditionalExpression: the typeof operand becoming true is equivalent, Number.isInteger rejects every non-number
          typeof med === 'number'
        ) && Number.isInteger(med) && med >= 0 && med <= BGP_MED_MAX),
      `lvs.bgpMed must be a whole number 0..${BGP_MED_MAX}`,
    );
  }
  const t = raw.depoolThreshold;
  need(typeof t === 'number' && t >= 0 && t <= 1, 'depoolThreshold must be a number in [0, 1]');
  if (!Array.isArray(raw.checks)) problems.push('checks must be a list');
  else {
    raw.checks.forEach((c: unknown, i: number) => {
      if (!isObj(c)) return problems.push(`checks[${i}] must be an object`);
      need(
        (
          // Stryker disable next-line ConditionalExpression: the typeof operand becoming true is equivalent, KINDS holds strings only, so KINDS.has rejects every non-string
          typeof c.kind === 'string'
        ) && KINDS.has(c.kind),
        `checks[${i}].kind must be one of ${[...KINDS].join(', ')}`,
      );
      need(typeof c.name === 'string' && c.name !== '', `checks[${i}].name must be a non-empty string`);
      for (const f of ['timeoutMs', 'intervalMs', 'rise', 'fall']) need(isPosInt(c[f]), `checks[${i}].${f} must be a whole number > 0`);
      if (c.kind === 'http') need(Array.isArray(c.urls) && c.urls.length > 0, `checks[${i}].urls must be a non-empty list`);
      if (c.kind === 'command') need(Array.isArray(c.argv) && c.argv.length > 0 && c.argv.every((a) => typeof a === 'string'), `checks[${i}].argv must be a non-empty list of strings`);
      return undefined;
    });
  }
  if (!isObj(raw.flapping)) problems.push('flapping must be an object');
  // Issue 14 (optional): correlated-failure share and first-round start timeout.
  const share = raw.correlatedFailureShare;
  need(share === undefined || (typeof share === 'number' && share > 0 && share <= 1), 'correlatedFailureShare must be a number in (0, 1]');
  need(
    raw.startTimeoutMs === undefined ||
      ((
        // Stryker disable next-line ConditionalExpression: the typeof operand becoming true is equivalent, Number.isInteger rejects every non-number
        typeof raw.startTimeoutMs === 'number'
      ) && Number.isInteger(raw.startTimeoutMs) && raw.startTimeoutMs >= 0),
    'startTimeoutMs must be a whole number >= 0',
  );
  if (!isObj(raw.servers)) problems.push('servers must be an object');
  else {
    for (const [h, s] of Object.entries(raw.servers)) {
      need(
        isObj(s) &&
          // Stryker disable next-line ConditionalExpression: the typeof operand becoming true is equivalent, Number.isInteger rejects every non-number
          typeof s.weight === 'number' &&
          Number.isInteger(s.weight) &&
          s.weight >= 0,
        `servers.${h}.weight must be a whole number >= 0`,
      );
    }
  }
  if (problems.length > 0) {
    throw new InvalidStoredValueError(`invalid service definition at ${key}: ${problems.join('; ')}`, { key, problems });
  }
  const def = raw as unknown as ServiceDef;
  return def.monitoring === undefined ? { ...def, monitoring: {} } : def;
}
