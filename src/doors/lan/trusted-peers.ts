import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { checkConfigFile, explainConfigWriteError } from './config-dir.js';
import { withFileLock, type LockHolder } from './file-lock.js';
import { JsonFileError, readJsonFile, writeJsonFile } from './json-file.js';
import { removeLeftoverTempFiles } from '../../server/durable-file.js';
import { AmbiguousPeerError, BadPeersFileError, PeerIdConflictError, PeersFileBusyError, PeersFileUnreadableError, UnknownPeerError } from './lan-errors.js';

/**
 * The trusted-peer store: devices this one paired with, pinned by the SPKI SHA-256 of their device
 * key. A JSON file (`peers.json`) in the config dir, mode 0600. It never holds a pairing secret.
 *
 * Several pairgate processes may change it at once (two `lan join`, a `lan connect --listen` and a
 * `peers remove`): each change is a read, that one change and an atomic write under the lock
 * `peers.json.lock` (`file-lock.ts`), so none writes back a list that misses another's change.
 * Reading needs no lock: a write replaces the file by a rename, so a reader sees the old list or
 * the new one, whole.
 */
export interface TrustedPeer {
  deviceId: string;
  name: string;
  /** SPKI SHA-256 of the peer's device key, base64url: what `lan connect` pins. */
  keySha256: string;
  /** Addresses the peer was seen at or announced. */
  addresses: string[];
  pairedAt: string;
  lastSeenAt: string;
}

interface PeersFile {
  version: 1;
  peers: TrustedPeer[];
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** True for an entry as `save` writes it. */
function isTrustedPeer(value: unknown): value is TrustedPeer {
  const p = value as Partial<TrustedPeer> | null;
  return typeof p === 'object' && p !== null && isString(p.deviceId) && isString(p.name) && isString(p.keySha256)
    && isString(p.pairedAt) && isString(p.lastSeenAt) && Array.isArray(p.addresses) && p.addresses.every(isString);
}

/** What `saveUndoable` did: the entry written, and the one it replaced (none for a new peer). */
export interface PeerSave {
  trusted: TrustedPeer;
  previous: TrustedPeer | undefined;
}

/** True when `a` and `b` are the same entry, as written (addresses in order). */
const samePeer = (a: TrustedPeer, b: TrustedPeer) => a.keySha256 === b.keySha256 && a.name === b.name && a.pairedAt === b.pairedAt
  && a.lastSeenAt === b.lastSeenAt && a.addresses.join(' ') === b.addresses.join(' ');

/** How long a change waits for another process's change to `peers.json`; for tests. */
export interface TrustedPeerStoreOptions {
  /** Wait for the lock at most this long, then fail with `lan_peers_file_busy`; default 5 s. */
  lockTimeoutMs?: number;
  /** Take over a lock this old even if its holder may be alive; default 10 s. */
  staleLockMs?: number;
}

/** Reads and changes the trusted peers in one config dir. */
export class TrustedPeerStore {
  readonly path: string;
  /** The lock every change holds (see the module comment). */
  readonly lockPath: string;
  private readonly options: TrustedPeerStoreOptions;

  constructor(configDir: string, options: TrustedPeerStoreOptions = {}) {
    this.path = join(configDir, 'peers.json');
    this.lockPath = `${this.path}.lock`;
    this.options = options;
  }

  /**
   * Every trusted peer, most recently seen first. A file that is not what `save` writes (damaged,
   * or edited by hand) throws BadPeersFileError naming it: it says whose keys are trusted, so it is
   * neither half-read nor rewritten without the entries that could not be read. A file that cannot
   * be read at all (no permission, a folder at its name) throws PeersFileUnreadableError; one that
   * others may write, or another user's, UnsafeConfigDirError (`checkConfigFile`).
   */
  list(): TrustedPeer[] {
    let file: unknown;
    try {
      // Someone else who could write it could plant a peer to trust (`checkConfigFile`).
      file = readJsonFile(this.path, (stat) => checkConfigFile(this.path, stat, 'peers'));
    } catch (error) {
      throw readFailure(this.path, error);
    }
    if (file === undefined) return [];
    const peers = (file as Partial<PeersFile> | null)?.peers;
    if (!Array.isArray(peers)) throw damaged(this.path, 'it has no list of peers');
    peers.forEach((peer, index) => {
      if (!isTrustedPeer(peer)) throw damaged(this.path, `peer ${index + 1} is not a valid entry`);
    });
    return [...(peers as TrustedPeer[])].sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt));
  }

  /**
   * Adds or updates a peer (matched by device id), keeping when it was first paired, under the lock
   * (see the module comment). Throws PeerIdConflictError when a peer of that device id is trusted
   * under another key (nothing is written), BadPeersFileError for a damaged file (left as it is),
   * PeersFileUnreadableError for one that cannot be read, PeersFileBusyError
   * when another process holds the lock for longer than the wait.
   */
  async save(peer: Omit<TrustedPeer, 'pairedAt' | 'lastSeenAt'>, now = new Date()): Promise<TrustedPeer> {
    return (await this.saveUndoable(peer, now)).trusted;
  }

  /** As `save`, also returning the entry it replaced, so that `undo` can put it back. */
  saveUndoable(peer: Omit<TrustedPeer, 'pairedAt' | 'lastSeenAt'>, now = new Date()): Promise<PeerSave> {
    return this.change((peers) => {
      const previous = peers.find((p) => p.deviceId === peer.deviceId);
      // The same id and key again (a rename, new addresses) updates the entry; the same id with
      // another key would replace a trusted device by whoever claims its public id. Checked here,
      // under the lock, against the file as it is now.
      if (previous && previous.keySha256 !== peer.keySha256) throw idConflict(previous, peer);
      const trusted: TrustedPeer = {
        ...peer,
        addresses: [...new Set(peer.addresses)].slice(0, 8),
        pairedAt: previous?.pairedAt ?? now.toISOString(),
        lastSeenAt: now.toISOString(),
      };
      return { peers: [trusted, ...peers.filter((p) => p.deviceId !== peer.deviceId)], result: { trusted, previous } };
    });
  }

  /**
   * Takes back `save` (a pairing the other device could not complete): the entry it replaced is
   * put back, or, when there was none, the peer is removed. Only if the entry is still the one
   * that save wrote: one changed since (the same device paired or connected again meanwhile) is
   * newer news and stays. True when something was taken back. Throws as `save` does.
   */
  undo(save: PeerSave): Promise<boolean> {
    return this.change((peers) => {
      const current = peers.find((p) => p.deviceId === save.trusted.deviceId);
      if (!current || !samePeer(current, save.trusted)) return { peers, result: false };
      const others = peers.filter((p) => p.deviceId !== save.trusted.deviceId);
      return { peers: save.previous ? [save.previous, ...others] : others, result: true };
    });
  }

  /** The peer with this device id, key pin (or a prefix of at least 6 characters) or exact name. */
  find(selector: string): TrustedPeer {
    return findIn(this.list(), selector);
  }

  /** The peer whose device key has this pin, if trusted. */
  byKey(keySha256: string): TrustedPeer | undefined {
    return this.list().find((p) => p.keySha256 === keySha256);
  }

  /**
   * Removes a peer, chosen as `find` does in the file as it is under the lock; returns it. Throws
   * UnknownPeerError when none matches, and as `save` does.
   */
  remove(selector: string): Promise<TrustedPeer> {
    return this.change((peers) => {
      const peer = findIn(peers, selector);
      return { peers: peers.filter((p) => p.deviceId !== peer.deviceId), result: peer };
    });
  }

  /**
   * Under the lock: reads the file as it is now, applies `apply` to it alone and writes the result
   * (temporary file renamed over it, mode 0600). A refusal thrown by `apply` or by the read writes
   * nothing. The lock is released either way.
   */
  private async change<T>(apply: (peers: TrustedPeer[]) => { peers: TrustedPeer[]; result: T }): Promise<T> {
    try {
      return await this.changeLocked(apply);
    } catch (error) {
      // A folder this user may not write (the lock file is the first thing made in it): said as
      // such, naming the folder, not as Node's EACCES on `peers.json.lock`.
      throw explainConfigWriteError(dirname(this.path), error);
    }
  }

  private async changeLocked<T>(apply: (peers: TrustedPeer[]) => { peers: TrustedPeer[]; result: T }): Promise<T> {
    // 0700, as writeJsonFile makes it: the lock file lives there too, so it must exist first.
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    return withFileLock(this.lockPath, () => {
      // The SDK's callers never open the folder through resolveConfigDir: a change is their
      // natural point to clear what a killed writer left (see removeLeftoverTempFiles).
      removeLeftoverTempFiles(dirname(this.path));
      const { peers, result } = apply(this.list());
      writeJsonFile(this.path, { version: 1, peers } satisfies PeersFile);
      return result;
    }, {
      timeoutMs: this.options.lockTimeoutMs,
      staleMs: this.options.staleLockMs,
      busyError: (holder, waitedMs) => new PeersFileBusyError(busyMessage(this.path, this.lockPath, holder, waitedMs)),
    });
  }
}

/**
 * A damaged `peers.json` (`why`), with what to do. Moved aside, not deleted: it is the only record
 * of whose keys were trusted, which the person may want to repair or read later.
 */
function damaged(path: string, why: string): BadPeersFileError {
  return new BadPeersFileError(`The trusted-peer file ${path} is damaged: ${why}. No peer in it is trusted until it is fixed, and pairgate leaves it as it is. `
    + `Repair it by hand, or move it aside (mv ${path} ${path}.broken) and pair again with your devices.`);
}

/** `readJsonFile`'s failure on `peers.json`, in the person's terms: damaged, or not readable (by its errno). */
function readFailure(path: string, error: unknown): Error {
  if (!(error instanceof JsonFileError)) return error as Error;
  if (error.errno === undefined) return damaged(path, `it is not JSON (${error.reason})`);
  return new PeersFileUnreadableError(`The trusted-peer file ${path} cannot be read ${unreadable(path, error.errno, error.reason)}`, error.errno);
}

/** Why `peers.json` could not be read, and what to do: never "remove it", which would lose the peers. */
function unreadable(path: string, errno: string, reason: string): string {
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return `(permission denied). Make it yours and readable (chown it to your user, then chmod 600 ${path}), or choose another config folder with --config-dir or PAIRGATE_CONFIG_DIR.`;
    case 'EISDIR':
      return `(it is a folder, not a file). Move the folder out of the way (mv ${path} ${path}.aside): the next pairing makes the file anew.`;
    default:
      return `(${reason}). Check the file and the disk it is on, then try again.`;
  }
}

/** Shortest key or id prefix that names a peer: shorter ones would too easily name the wrong one. */
const MIN_PREFIX = 6;

/**
 * The peer `selector` names in `peers` (see `find`): a full device id or key pin names its peer
 * alone; otherwise every peer whose id or key starts with it (6 characters at least) or whose
 * name it is, and more than one of them is AmbiguousPeerError, never the first of them (the one
 * a `peers remove` revoked could be the wrong "laptop").
 */
function findIn(peers: TrustedPeer[], selector: string): TrustedPeer {
  const exact = peers.find((p) => p.deviceId === selector || p.keySha256 === selector);
  if (exact) return exact;
  const matches = peers.filter((p) => (selector.length >= MIN_PREFIX && (p.keySha256.startsWith(selector) || p.deviceId.startsWith(selector))) || p.name === selector);
  if (matches.length > 1) throw new AmbiguousPeerError(selector, matches);
  if (!matches[0]) throw new UnknownPeerError(selector, MIN_PREFIX);
  return matches[0];
}

/**
 * The command that stops trusting the peer of `deviceId`, to quote in a message. About 1 id in 64
 * made before ids avoided it starts with "-", which the command line would read as an option: such
 * an id goes after `--`.
 */
export function peersRemoveCommand(deviceId: string): string {
  return `pairgate peers remove ${deviceId.startsWith('-') ? '-- ' : ''}${deviceId}`;
}

/** The refusal of `peer`, which claims the device id of `holder`, trusted under another key. */
function idConflict(holder: TrustedPeer, peer: Omit<TrustedPeer, 'pairedAt' | 'lastSeenAt'>): PeerIdConflictError {
  return new PeerIdConflictError(`"${peer.name}" (key ${peer.keySha256.slice(0, 16)}...) claims the device id ${peer.deviceId}, which "${holder.name}" (key ${holder.keySha256.slice(0, 16)}...), `
    + `a trusted peer, already holds: refusing to let it take that peer's place. If "${holder.name}" really was reset and this is the same device with a new key, `
    + `run "${peersRemoveCommand(holder.deviceId)}" first, then pair again; otherwise another device is posing as it.`);
}

/** What the person is told when the lock stayed held: who holds it, and what to do. */
function busyMessage(path: string, lockPath: string, holder: LockHolder | undefined, waitedMs: number): string {
  const who = holder
    ? `process ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}, since ${holder.since}`
    : 'a process that did not say which';
  return `The trusted-peer file ${path} is being changed by another pairgate command (${who}) and was still locked after ${(waitedMs / 1000).toFixed(1)} s. `
    + `Try again when that command has finished; if no pairgate command is running, delete ${lockPath}.`;
}
