// File-reading front end of drift detection for `poolctl drift --pybal FILE --icinga FILE`.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ServiceDef } from '../model/types.js';
import { parsePybalConf } from '../config/pybal-parse.js';
import { parsePybalServerList, serverListPath, type PybalServerEntry } from '../config/pybal-servers.js';
import { detectDrift, type DriftReport } from './drift.js';

export interface DriftFiles {
  services: ServiceDef[];
  dc?: string;
  pybalFile?: string;
  icingaFile?: string;
  icingaFormat?: 'icinga2' | 'nagios';
  pooldUrl?: string;
}

/**
 * Reads the deployed files and the local server lists their `config =` lines name (relative paths are
 * taken from the pybal.conf's directory), then compares. http:// server lists are not fetched: drift
 * must work offline, so the report says which backends were not compared.
 */
export async function detectDriftFromFiles(f: DriftFiles): Promise<DriftReport> {
  let pybal: Parameters<typeof detectDrift>[0]['pybal'];
  if (f.pybalFile) {
    const text = await readFile(f.pybalFile, 'utf8');
    const serverLists: Record<string, Record<string, PybalServerEntry>> = {};
    for (const s of parsePybalConf(text, f.pybalFile).services) {
      const path = serverListPath(s.config);
      if (path === null) continue;
      const full = resolve(dirname(f.pybalFile), path);
      serverLists[s.config] = parsePybalServerList(await readFile(full, 'utf8'), full);
    }
    pybal = { text, file: f.pybalFile, serverLists, pooldUrl: f.pooldUrl };
  }
  const icinga = f.icingaFile ? { text: await readFile(f.icingaFile, 'utf8'), file: f.icingaFile, format: f.icingaFormat } : undefined;
  return detectDrift({ services: f.services, dc: f.dc, pybal, icinga });
}
