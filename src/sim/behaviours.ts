// Backend behaviours the simulator can play, and their options.

export const BEHAVIOURS = [
  'ok',
  '404-root',
  'hang-before-headers',
  'headers-then-hang',
  'never-close',
  'trickle',
  'empty-200',
  'reset',
  'refused',
  'slow-under',
  'slow-over',
  'wrong-body',
  'bad-tls',
  'flapping',
] as const;

export type Behaviour = (typeof BEHAVIOURS)[number];

export interface BehaviourOptions {
  /** Service name reported by `/_info` (body rules match on it). Default `simsvc`. */
  service?: string;
  /** slow-under / slow-over: how long to wait before answering. Defaults 4500 / 5500 (PyBal's 5 s timeout). */
  delayMs?: number;
  /** trickle: gap between body bytes. Default 300. */
  trickleMs?: number;
  /** flapping: switch between ok and failing (503) every N requests, or every N seconds. Default 5 requests. */
  flapEvery?: { requests?: number; seconds?: number };
  /**
   * ok / bad-tls: answer 200 on every path, not only `/` and `/_info`, so an imported site's health URLs
   * (/readiness-probe, /w/health-check.php, ...) are served without listing them.
   */
  anyPath?: boolean;
}

export interface BackendSpec extends BehaviourOptions {
  address: string;
  port: number;
  behaviour: Behaviour;
}

export function isBehaviour(x: unknown): x is Behaviour {
  return typeof x === 'string' && (BEHAVIOURS as readonly string[]).includes(x);
}
