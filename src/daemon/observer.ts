// This instance as an observer: runs the checks of every LVS service in scope through the scheduler,
// folds per-check health into one verdict per host (up only if every check is up, as PyBal),
// and publishes it as an observation under our lease. A host's first observation waits until
// each of its checks has a result, so a restarted poold reports nothing rather than a guess
// (the leader keeps the last published health meanwhile: no flap on restart).
import type { CheckRunner, CheckRunEvent, ScheduledTarget, TargetHealthEvent } from '../checks/scheduler.js';
import type { HealthState } from '../model/hysteresis.js';
import type { CheckResult, Finding, Observation, ServiceDef, TargetKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import type { ObservationPublisher } from '../store/observations.js';
import type { PoolView } from '../api/state-view.js';
import type { Logger } from './logger.js';

interface CheckSlot {
  health: HealthState | undefined;
  last: CheckResult | undefined;
}

interface HostAgg {
  key: TargetKey;
  checks: Map<string, CheckSlot>;
  /** Signature of the last published observation, to publish only on change. */
  published: string | undefined;
}

export interface ObserverDeps {
  observer: string;
  scheduler: CheckRunner;
  publisher: ObservationPublisher;
  view: PoolView;
  log: Logger;
  /** Health the pool had when we started (published state), to start hysteresis from. */
  initialUp(key: TargetKey): boolean | undefined;
}

const hostId = (k: TargetKey) => `${servicePath(k)}/${k.host}`;

export class Observer {
  private readonly hosts = new Map<string, HostAgg>();

  constructor(private readonly d: ObserverDeps) {
    d.scheduler.addListener({ result: (ev) => this.onResult(ev), health: (ev) => this.onHealth(ev) });
  }

  /** Replaces the set of checked services; unchanged targets keep running undisturbed. */
  async setServices(services: ServiceDef[]): Promise<void> {
    const targets: ScheduledTarget[] = [];
    const seen = new Set<string>();
    for (const svc of services) {
      const names = new Set(svc.checks.map((c) => c.name));
      for (const [host, server] of Object.entries(svc.servers)) {
        const key: TargetKey = { dc: svc.dc, name: svc.name, host };
        // Without an address in pools/, the checkers resolve the name on every check: a name that stops
        // resolving is a down host (dns_failure), never an unchecked one, and a changed record is seen.
        const address = server.address ?? host;
        const id = hostId(key);
        seen.add(id);
        const agg = this.hosts.get(id) ?? { key, checks: new Map(), published: undefined };
        this.hosts.set(id, agg);
        for (const name of [...agg.checks.keys()]) if (!names.has(name)) agg.checks.delete(name);
        for (const check of svc.checks) {
          if (!agg.checks.has(check.name)) agg.checks.set(check.name, { health: undefined, last: undefined });
          targets.push({ service: key, host, address, port: svc.lvs.port, check, flapping: svc.flapping, initialUp: this.d.initialUp(key) ?? true });
        }
      }
    }
    for (const [id, agg] of this.hosts) {
      if (seen.has(id)) continue;
      this.hosts.delete(id);
      this.d.view.clearVerdicts(agg.key);
      this.d.publisher.remove({ ...agg.key, observer: this.d.observer }).catch((err: unknown) =>
        this.d.log.warn({ err, host: id }, 'could not remove the observation of a host that left its pool'));
    }
    const r = this.d.scheduler.setTargets(targets);
    this.d.log.info({ targets: targets.length, ...r }, 'checks configured');
  }

  private onResult(ev: CheckRunEvent): void {
    const key: TargetKey = { ...ev.service, host: ev.host };
    this.d.view.setVerdict(key, ev.check, ev.result, ev.finishedAt);
    const agg = this.hosts.get(hostId(key));
    const slot = agg?.checks.get(ev.check);
    if (agg === undefined || slot === undefined) return;
    slot.health = ev.health;
    slot.last = ev.result;
    this.maybePublish(agg, ev.finishedAt);
  }

  private onHealth(ev: TargetHealthEvent): void {
    if (ev.type === 'flapping_started' || ev.type === 'flapping_stopped') {
      this.d.view.setFlapping({ ...ev.service, host: ev.host }, ev.flapping);
    }
    this.d.log.info({ event: ev.type, pool: servicePath(ev.service), host: ev.host, check: ev.check, code: ev.code, msg: ev.message }, 'health event');
  }

  private maybePublish(agg: HostAgg, at: number): void {
    const slots = [...agg.checks.entries()];
    if (slots.some(([, s]) => s.health === undefined || s.last === undefined)) return; // first round not complete
    const down = slots.filter(([, s]) => !s.health!.up);
    const findings: Finding[] = slots.flatMap(([, s]) => s.last!.findings);
    const flapping = slots.some(([, s]) => s.health!.flapping);
    const up = down.length === 0;
    const reason = up
      ? findings.length > 0 ? findings.map((f) => f.message).join('; ') : 'ok'
      : down.map(([name, s]) => `${name}: ${s.health!.message}`).join('; ');
    const code = up ? 'ok' : down[0][1].health!.code;
    // The check names too: after a definition adds a check, the observation that covers it is a
    // host's first verdict for the new definition (issue 14), so it must be published even when the
    // verdict itself did not change.
    const signature = JSON.stringify([up, code, reason, flapping, findings.map((f) => f.code), slots.map(([name]) => name)]);
    if (signature === agg.published) return;
    agg.published = signature;
    const obs: Observation = {
      observer: this.d.observer, up, reason, code, at, flapping,
      checks: Object.fromEntries(slots.map(([name, s]) => [name, {
        up: s.health!.up, code: s.last!.code, message: s.last!.message, timings: s.last!.timings, findings: s.last!.findings,
      }])),
    };
    this.d.publisher.publish({ ...agg.key, observer: this.d.observer }, obs).catch((err: unknown) => {
      // etcd unreachable: the publisher re-puts every current observation once it has a lease again.
      agg.published = undefined;
      this.d.log.warn({ err: (err as Error).message, host: hostId(agg.key) }, 'could not publish observation; will retry');
    });
  }
}
