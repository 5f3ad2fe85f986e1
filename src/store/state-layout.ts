// How a published state is laid out in etcd, and how readers put it back together (issue 12).
//
//   <poold>/state/<dc>/<name>          the header: everything but the servers, and `hosts`, their count
//   <poold>/state/<dc>/<name>/<host>   one key per server: its effective state
//
// Why: at eqiad's size one kubesvc depool changes one server in each of 44 sections. As one value per
// section that was 44 values of 40 KB (1.7 MB, two transactions, 20-36 ms of etcd time, and every
// reader decoding 1.7 MB); per server it is 44 small puts and 44 small headers in one transaction.
//
// The one invariant readers rely on: **every publication is one transaction that contains the
// header, written last in it.** The leader (daemon/leader.ts) writes a header in one of two forms:
// - split: `hosts: N` and no servers. The transaction also carries every server key that changed or
//   went, so after it the section's server keys are exactly its N servers. Used when that fits one
//   transaction.
// - inline: the servers inside the header, as before this layout (and as older poold wrote it). Used
//   when the change does not fit one transaction (the first publication after a leader starts, a
//   selection over hundreds of hosts); the leader then converges the server keys in later
//   transactions ("backfill"), which readers ignore while the header is inline.
// So a reader that sees a header and the server keys at one revision (one range, or a watch applied up
// to a header event) always has a whole state, never half of one publication. Server keys without a
// header (a removal in progress: the header goes first) are ignored. Server keys of a split header
// that change without a header in the same revision were written by another tool: the state is
// reported as corrupt (AssembledState.problem), never read as the leader's; the leader then
// republishes the section whole.
import { servicePath, type ServiceKey } from '../model/types.js';
import type { Keys } from './keys.js';
import type { Kv, KvEntry } from './kv.js';

/** One LVS service's header and server values, as read at one revision. */
export interface AssembledState {
  path: string;
  key: ServiceKey;
  /** The header key (for messages and problem reports). */
  headerKey: string;
  header: string;
  headerRevision: number;
  /**
   * host → raw value, for the split form (the inline form ignores them). From a watch's assembler,
   * its own map: read it before feeding the assembler again (take() does not copy 240 values per
   * section per change).
   */
  servers: ReadonlyMap<string, string>;
  /**
   * Set when server keys of a split header changed after it, with no header of their own: another
   * tool wrote or deleted them (the leader never does), so this is not a state the leader published.
   * Decoding it fails with this message (store/decode.ts), as for any corrupt value.
   */
  problem?: string;
}

export type AssemblerChange =
  | { kind: 'state'; state: AssembledState }
  | { kind: 'removed'; path: string; key: ServiceKey; headerKey: string; revision?: number };

interface Section {
  key: ServiceKey;
  header?: { raw: string; revision: number; inline: boolean };
  /** host → raw value. */
  servers: Map<string, string>;
  /** Server keys changed since the header, by host, with the revision (a deletion leaves no key to look at). */
  changedSince: Map<string, number>;
  /** The header was written since the last take(). */
  headerChanged: boolean;
  /** The header was deleted since the last take(): report the removal once. */
  removedAt?: number | null;
}

const NO_SERVERS: ReadonlyMap<string, string> = new Map();

/** The inline form carries `servers` at its top level; a split header never has that key. */
function isInline(raw: string): boolean {
  // A split header is small and never holds the text at all (a string cannot hold an unescaped
  // quote), so only a likely inline value is parsed to be sure.
  if (!raw.includes('"servers":')) return false;
  try {
    const o: unknown = JSON.parse(raw);
    return typeof o === 'object' && o !== null && (o as { servers?: unknown }).servers !== undefined;
  } catch {
    // Not JSON: the decoder names the problem when the state is decoded (either form's path).
    return true;
  }
}

/**
 * Puts a prefix listing and watch events back into whole states. Feed it every key under the state
 * prefix (put/remove), then take() the LVS services that changed. Pure bookkeeping: decoding is the
 * caller's (store/decode.ts decodeSplitPoolState), so a caller that already holds a state at that
 * revision can skip it.
 */
export class StateAssembler {
  private readonly sections = new Map<string, Section>();
  private readonly touched = new Set<string>();

  constructor(private readonly keys: Keys, private readonly want: (k: ServiceKey) => boolean = () => true) {}

  /** Forget everything (before a re-list); every service known so far is reported removed by take() unless listed again. */
  reset(): void {
    for (const [path, s] of this.sections) {
      if (s.header !== undefined) {
        s.removedAt = null;
        this.touched.add(path);
      }
      s.header = undefined;
      s.servers.clear();
      s.changedSince.clear();
    }
  }

  /** A key under the state prefix was written (or listed). False: not a state key this assembler keeps. */
  put(key: string, value: string, modRevision: number): boolean {
    const hk = this.keys.parseState(key);
    if (hk !== undefined) {
      if (!this.want(hk)) return false;
      const s = this.section(hk);
      s.header = { raw: value, revision: modRevision, inline: isInline(value) };
      s.headerChanged = true;
      s.removedAt = undefined;
      for (const [host, rev] of s.changedSince) if (rev <= modRevision) s.changedSince.delete(host);
      this.touched.add(servicePath(hk));
      return true;
    }
    const sk = this.keys.parseStateServer(key);
    if (sk === undefined || !this.want(sk)) return false;
    const s = this.section(sk);
    s.servers.set(sk.host, value);
    // With its header in the same transaction (one watch batch), or under an inline header; take()
    // tells the two apart from another tool's write.
    s.changedSince.set(sk.host, modRevision);
    this.touched.add(servicePath(sk));
    return true;
  }

  /** A key under the state prefix was deleted at `revision` (undefined: absent from a re-list). */
  remove(key: string, revision?: number): boolean {
    const hk = this.keys.parseState(key);
    if (hk !== undefined) {
      if (!this.want(hk)) return false;
      // Reported even when no header was held: a reader learns the revision of the deletion.
      const s = this.section(hk);
      s.header = undefined;
      s.removedAt = revision ?? null;
      this.touched.add(servicePath(hk));
      return true;
    }
    const sk = this.keys.parseStateServer(key);
    if (sk === undefined) return false;
    const path = servicePath(sk);
    const s = this.sections.get(path);
    if (s === undefined) return false;
    s.servers.delete(sk.host);
    if (revision !== undefined) s.changedSince.set(sk.host, revision);
    this.touched.add(path);
    if (s.header === undefined && s.servers.size === 0) this.sections.delete(path);
    return true;
  }

  /**
   * The services whose header changed or went since the last call. A service whose server keys are
   * newer than its header (the rest of its transaction not applied yet) is held back until its header
   * comes; see the invariant above.
   */
  take(): AssemblerChange[] {
    const out: AssemblerChange[] = [];
    for (const path of this.touched) {
      const s = this.sections.get(path);
      if (s === undefined) continue;
      if (s.header === undefined) {
        if (s.removedAt !== undefined) out.push({ kind: 'removed', path, key: s.key, headerKey: this.keys.state(s.key), ...(s.removedAt !== null ? { revision: s.removedAt } : {}) });
        s.removedAt = undefined;
        if (s.servers.size === 0) this.sections.delete(path);
        continue;
      }
      const h = s.header;
      const fresh = s.headerChanged;
      s.headerChanged = false;
      if (h.inline) {
        // Server keys converging under an inline header change nothing a reader sees.
        s.changedSince.clear();
        if (!fresh) continue;
      } else {
        // Server keys newer than their split header after a whole batch (a watch batch, or a listing,
        // never splits a revision): no header came with them.
        // changedSince holds every server key put or deleted since the last take(), listed ones included.
        const ahead = [...s.changedSince].filter(([, rev]) => rev > h.revision).map(([host]) => host);
        if (ahead.length > 0) {
          const problem = `server keys changed after their header, without one (written by another tool?): ${ahead.slice(0, 3).join(', ')}${ahead.length > 3 ? ` and ${ahead.length - 3} more` : ''}`;
          out.push({ kind: 'state', state: { path, key: s.key, headerKey: this.keys.state(s.key), header: h.raw, headerRevision: h.revision, servers: NO_SERVERS, problem } });
          continue;
        }
        s.changedSince.clear();
        if (!fresh) continue;
      }
      out.push({ kind: 'state', state: { path, key: s.key, headerKey: this.keys.state(s.key), header: h.raw, headerRevision: h.revision, servers: h.inline ? NO_SERVERS : s.servers } });
    }
    this.touched.clear();
    return out;
  }

  private section(k: ServiceKey): Section {
    const path = servicePath(k);
    let s = this.sections.get(path);
    if (s === undefined) {
      s = { key: { dc: k.dc, name: k.name }, servers: new Map(), changedSince: new Map(), headerChanged: false };
      this.sections.set(path, s);
    }
    return s;
  }
}

/** Feeds a listing into a fresh assembler and returns its states (a snapshot read: one revision). */
export function assembleListing(keys: Keys, entries: readonly KvEntry[], want?: (k: ServiceKey) => boolean): AssembledState[] {
  const a = new StateAssembler(keys, want);
  for (const e of entries) a.put(e.key, e.value, e.modRevision);
  return a.take().flatMap((c) => (c.kind === 'state' ? [c.state] : []));
}

/**
 * Reads the published states of `services` (every service when undefined), each at one revision:
 * one range per service over its header and server keys (Keys.stateRange), or one range over the
 * whole prefix; at the latest revision or at `at.revision`. Services without a header are absent
 * from the result.
 */
export async function readAssembledStates(kv: Kv, keys: Keys, services?: readonly ServiceKey[], at?: { revision: number }): Promise<AssembledState[]> {
  const revision = at?.revision;
  if (services === undefined) {
    const r = await kv.range({ key: keys.statePrefix(), prefix: true, revision });
    return assembleListing(keys, r.kvs);
  }
  // Each range keeps only its own service: another's keys may share it (`a` and `a-b`).
  const ranges = await Promise.all(services.map(async (svc) => ({ svc, r: await kv.range({ ...keys.stateRange(svc), revision }) })));
  return ranges.flatMap(({ svc, r }) => assembleListing(keys, r.kvs, (k) => k.dc === svc.dc && k.name === svc.name));
}
