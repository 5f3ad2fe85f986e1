// GET /v1/events?services=dc/name,...: which events concern the LVS services a client follows.
// An LVS agent serves a few sections of a site; at eqiad's size one kubesvc depool is a `pool`
// event for each of the 44 sections over that pool, and the stream's detail budget (routes-events.ts)
// would go to pools the agent ignores. With the filter it is spent on the agent's own.
import { servicePath } from '../model/types.js';
import type { PoolEvent } from './event-bus.js';

/** `dc/name` of one LVS service, as the agent's --service and /v1/pools/:dc/:name name it. */
export const SERVICE_LIST_PATTERN = '^[^,/]+/[^,/]+(,[^,/]+/[^,/]+)*$';

/**
 * A predicate over events for the listed services (comma-separated `dc/name`), or one that passes
 * everything when none are listed. Events of a service pass when it is listed; an admin change of a
 * conftool pool passes when any listed service is over that pool; events of no service (leadership,
 * a stale etcd watch as a whole) always pass, as they concern every service.
 */
export function eventServiceFilter(list: string | undefined): (e: PoolEvent) => boolean {
  if (list === undefined || list === '') return () => true;
  const wanted = new Set(list.split(','));
  return (e) => {
    switch (e.type) {
      case 'leadership':
        return true;
      case 'stale':
        return e.pool === null || wanted.has(servicePath(e.pool));
      case 'admin':
        return e.services.some((name) => wanted.has(`${e.pool.dc}/${name}`));
      default:
        return wanted.has(servicePath(e.pool));
    }
  };
}
