// Drift between deployed definitions (pybal.conf, Icinga config) and the pool definitions poold runs,
// re-computed on a period and whenever the definitions change, so /alerts says CRITICAL as soon as
// the load balancer and monitoring could disagree (the cxserver incident).
import type { DriftProblem } from '../api/state-view.js';
import { detectDriftFromFiles } from '../monitoring/drift-files.js';
import type { DriftItem } from '../monitoring/drift.js';
import { servicePath, type ServiceDef } from '../model/types.js';
import type { Logger } from './logger.js';

export interface DriftWatchOptions {
  pybalFile?: string;
  icingaFile?: string;
  icingaFormat?: 'icinga2' | 'nagios';
  dc?: string;
  intervalMs: number;
  services(): ServiceDef[];
  /** Called with the pools whose drift problems changed. */
  onChange(paths: Set<string>): void;
  log: Logger;
}

export function driftProblem(item: DriftItem): DriftProblem {
  return {
    where: item.where ?? item.source,
    message: `${item.source} ${item.field}: pools/ says ${item.expected}, deployed has ${item.actual}`,
  };
}

export class DriftWatch {
  private byPool = new Map<string, DriftProblem[]>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: DriftWatchOptions) {}

  start(): void {
    this.kick();
    this.timer = setInterval(() => this.kick(), this.o.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  problems(path: string): DriftProblem[] {
    return this.byPool.get(path) ?? [];
  }

  /** Re-compare now (coalesced: one run at a time, one more if asked meanwhile). */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.compare().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async compare(): Promise<void> {
    const services = this.o.services();
    if (services.length === 0) return;
    let next: Map<string, DriftProblem[]>;
    try {
      const report = await detectDriftFromFiles({
        services, dc: this.o.dc, pybalFile: this.o.pybalFile, icingaFile: this.o.icingaFile, icingaFormat: this.o.icingaFormat,
      });
      next = new Map();
      for (const item of report.items) next.set(item.service, [...(next.get(item.service) ?? []), driftProblem(item)]);
      for (const w of report.warnings) this.o.log.warn({ warning: w }, 'drift: not compared');
    } catch (err) {
      // An unreadable or malformed deployed file is itself drift worth paging on: say so on every pool.
      const message = `cannot compare deployed files: ${(err as Error).message}`;
      next = new Map(services.map((s) => [servicePath(s), [{ where: 'drift', message }]]));
      this.o.log.error({ err: (err as Error).message }, 'drift detection failed');
    }
    const changed = new Set<string>();
    for (const path of new Set([...this.byPool.keys(), ...next.keys()])) {
      if (JSON.stringify(this.byPool.get(path) ?? []) !== JSON.stringify(next.get(path) ?? [])) changed.add(path);
    }
    this.byPool = next;
    if (changed.size > 0) this.o.onChange(changed);
  }
}
