// The daemon's structured logger (pino, the same one fastify uses). Secrets never reach it: etcd
// options are logged only through describeEtcdOptions, which masks the password.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string = process.env.POOLD_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { name: 'poold' }, redact: ['password', '*.password', 'etcd.password'] });
}
