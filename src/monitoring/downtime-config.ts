// Where the Icinga 2 API settings come from: explicit settings (CLI flags / poold config) first,
// then POOLD_ICINGA_API_* environment variables. No URL means downtime is not configured.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../model/errors.js';
import type { IcingaApiConfig } from './downtime.js';

export interface IcingaApiSettings {
  url?: string;
  user?: string;
  password?: string;
  /** Path of the PEM CA bundle that signed the API certificate. */
  caFile?: string;
  serverName?: string;
  timeoutMs?: number;
}

export const ICINGA_ENV = {
  url: 'POOLD_ICINGA_API_URL',
  user: 'POOLD_ICINGA_API_USER',
  password: 'POOLD_ICINGA_API_PASSWORD',
  caFile: 'POOLD_ICINGA_API_CA',
  serverName: 'POOLD_ICINGA_API_SERVER_NAME',
} as const;

/** Returns null when no API URL is configured; throws UsageError for incomplete settings. */
export async function loadIcingaApiConfig(settings: IcingaApiSettings = {}, env: NodeJS.ProcessEnv = process.env): Promise<IcingaApiConfig | null> {
  const pick = (k: keyof typeof ICINGA_ENV) => (settings[k] as string | undefined) ?? env[ICINGA_ENV[k]] ?? undefined;
  const url = pick('url');
  if (!url) return null;
  const user = pick('user');
  const password = pick('password');
  if (!user || password === undefined) {
    throw new UsageError(`Icinga API ${url} needs a user and password (${ICINGA_ENV.user}, ${ICINGA_ENV.password})`, { url });
  }
  try {
    new URL(url);
  } catch {
    throw new UsageError(`Icinga API URL ${JSON.stringify(url)} is not a URL (expected https://host:5665)`, { url });
  }
  const caFile = pick('caFile');
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = await readFile(caFile, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read the Icinga API CA ${caFile}: ${(e as Error).message}`, { caFile }, { cause: e });
    }
  }
  return { url, user, password, ca, serverName: pick('serverName'), timeoutMs: settings.timeoutMs };
}
