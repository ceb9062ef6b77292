import { existsSync, readFileSync } from 'node:fs';
import { isIP, isIPv6 } from 'node:net';
import { replaceFileDurably } from '../../server/durable-file.js';
import { canonicalAddress, sameAddress } from './record-values.js';

/** What mirror records need of an update client (DnsUpdateClient in the SDK); `signal` cancels a call. */
export interface RecordSetter {
  set(name: string, type: 'A' | 'AAAA', value: string, ttl?: number, options?: { signal?: AbortSignal }): Promise<unknown>;
  /** Removes the records at `name` of `filter.type` (none there is no error). */
  remove(name: string, filter: { type: 'A' | 'AAAA' }, options?: { signal?: AbortSignal }): Promise<unknown>;
}

/** What the box remembers between runs: the address published and the mirror in use. */
export interface MirrorState {
  ip: string | null;
  active: number;
}

/**
 * `parsed` (a state file's JSON) as a {@link MirrorState}, or undefined when it is not one: `ip` an
 * IP address or null, `active` the index of one of the `mirrors` mirror names. JSON of another
 * shape is as damaged as text that is not JSON, and starts the rotation over: `null` made
 * `box announce --zone` fail with a TypeError, and an `active` of -1, 0.5 or "a" published
 * `undefined.<fp>.<zone>`.
 */
function stateOf(parsed: unknown, mirrors: number): MirrorState | undefined {
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { ip, active } = parsed as Record<string, unknown>;
  if (ip !== null && (typeof ip !== 'string' || isIP(ip) === 0)) return undefined;
  if (typeof active !== 'number' || !Number.isInteger(active) || active < 0 || active >= mirrors) return undefined;
  return { ip, active };
}

/** Settings of the mirror publisher. */
export interface MirrorOptions {
  fingerprint: string;
  zone: string;
  /** Labels of the mirror names under `<fp>.<zone>` (two or more). Default `a`, `b`. */
  mirrors?: string[];
  /** Label of the main name. Default `local`. */
  main?: string;
  /** TTL of the mirror records: short, so a mirror can be reused soon after it was left. Default 60 s. */
  mirrorTtl?: number;
  /** File the state is kept in (so a restart continues the rotation). */
  stateFile?: string;
  /**
   * How often the records of an unchanged address are written again (default {@link MIRROR_REFRESH_MS}):
   * the server removes a record not written for PAIRGATE_DNS_RECORD_LIFETIME_DAYS (a day at least).
   */
  refreshMs?: number;
  /** The wall clock, in ms (default `Date.now`): what the refresh period is measured on. */
  now?: () => number;
}

/**
 * How often a box writes its unchanged records again: 6 hours, a quarter of the shortest lifetime
 * a server may give records (PAIRGATE_DNS_RECORD_LIFETIME_DAYS=1), so three writes may fail in a
 * row (the server away, the box offline) before one is removed. Two requests each time.
 */
export const MIRROR_REFRESH_MS = 6 * 3_600_000;

/**
 * Mirror records (Project Link step 6). The box keeps its main A record (`local.<fp>.<zone>`) and
 * two or more mirror names (`a.<fp>`, `b.<fp>`). When its local IP changes it writes the new address
 * to the *next* mirror and announces that name, so a resolver that cached the old mirror keeps its
 * (now stale but expiring) answer while browsers are sent to a name no cache has seen yet: no
 * downtime waiting for caches. The main record is updated too (the original did not re-publish at
 * all: foxbox #348).
 */
export class MirrorRecords {
  private state: MirrorState;
  private readonly mirrors: string[];
  private readonly main: string;
  /**
   * When (wall clock, ms) this object last wrote the records of the current address; undefined
   * before its first write (each run writes them once: see `publish`).
   */
  private writtenAt: number | undefined;

  constructor(
    private readonly client: RecordSetter,
    private readonly options: MirrorOptions,
  ) {
    this.mirrors = options.mirrors ?? ['a', 'b'];
    if (this.mirrors.length < 2) throw new Error('mirror records need at least two mirror names');
    this.main = options.main ?? 'local';
    this.state = { ip: null, active: 0 };
    if (options.stateFile && existsSync(options.stateFile)) {
      try {
        this.state = stateOf(JSON.parse(readFileSync(options.stateFile, 'utf8')), this.mirrors.length) ?? this.state;
      } catch {
        // A damaged state file: start the rotation over.
      }
    }
  }

  private name(label: string): string {
    return `${label}.${this.options.fingerprint}.${this.options.zone}`;
  }

  /** The name browsers should use now (the active mirror). */
  get currentName(): string {
    return this.name(this.mirrors[this.state.active % this.mirrors.length]!);
  }

  /** The main name. */
  get mainName(): string {
    return this.name(this.main);
  }

  /**
   * Publishes `ip`: the next mirror and the main record when it changed; when it did not, nothing,
   * except at the first call of this object and once `refreshMs` has passed since they were last
   * written, which write the active mirror and the main record again with the address they should
   * hold. The server removes records not written for PAIRGATE_DNS_RECORD_LIFETIME_DAYS: written
   * once per run, those of a box whose address held for longer went while it was running. The state file is the box's, not the server's: the
   * same box pointed at a new server (or a new zone, or after its records were deleted) found its
   * address "already published" and announced a mirror name that answered nothing. Addresses are
   * compared as addresses (`sameAddress`), and remembered in their canonical spelling.
   * Returns the name to announce and whether anything changed. `signal` cancels the calls under
   * way (the update client's error, code `aborted`; the state is kept only once all were done).
   */
  async publish(ip: string, options: { signal?: AbortSignal } = {}): Promise<{ name: string; changed: boolean }> {
    const call = options.signal ? { signal: options.signal } : {};
    const type = isIPv6(ip) ? 'AAAA' : 'A';
    // The address, not its text, is what changes or not: the same address read in another
    // spelling (or remembered in one by an older version) moved the box to the next mirror.
    ip = canonicalAddress(type, ip) ?? ip;
    const now = (this.options.now ?? Date.now)();
    if (this.state.ip !== null && sameAddress(this.state.ip, ip)) {
      // A clock stepped back (elapsed below 0) writes them again too, rather than waiting as long.
      const elapsed = this.writtenAt === undefined ? Infinity : now - this.writtenAt;
      if (elapsed >= 0 && elapsed < (this.options.refreshMs ?? MIRROR_REFRESH_MS)) return { name: this.currentName, changed: false };
      await this.client.set(this.currentName, type, ip, this.options.mirrorTtl ?? 60, call);
      await this.client.set(this.mainName, type, ip, undefined, call);
      this.writtenAt = now;
      return { name: this.currentName, changed: false };
    }
    const next = this.state.ip === null ? this.state.active % this.mirrors.length : (this.state.active + 1) % this.mirrors.length;
    const nextName = this.name(this.mirrors[next]!);
    // A name holds one address: one of the other family there (an IPv4 address the box had before
    // its IPv6 one, on the main name or on a mirror used two changes ago) would be answered beside
    // the new one, stale. Addresses change rarely, so the two removals cost little.
    const other = type === 'A' ? 'AAAA' : 'A';
    await this.client.remove(nextName, { type: other }, call);
    await this.client.set(nextName, type, ip, this.options.mirrorTtl ?? 60, call);
    await this.client.remove(this.mainName, { type: other }, call);
    await this.client.set(this.mainName, type, ip, undefined, call);
    this.state = { ip, active: next };
    this.writtenAt = now;
    // Whole or not at all (a damaged file is read as none, but then the mirror used is forgotten).
    if (this.options.stateFile) replaceFileDurably(this.options.stateFile, JSON.stringify(this.state), 0o644);
    return { name: this.currentName, changed: true };
  }
}
