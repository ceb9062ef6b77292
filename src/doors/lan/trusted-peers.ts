import { join } from 'node:path';
import { readJsonFile, writeJsonFile } from './json-file.js';
import { BadPeersFileError, UnknownPeerError } from './lan-errors.js';

/**
 * The trusted-peer store: devices this one paired with, pinned by the SPKI SHA-256 of their device
 * key. A JSON file (`peers.json`) in the config dir, mode 0600. It never holds a pairing secret.
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

/** Reads and changes the trusted peers in one config dir. */
export class TrustedPeerStore {
  readonly path: string;

  constructor(configDir: string) {
    this.path = join(configDir, 'peers.json');
  }

  /**
   * Every trusted peer, most recently seen first. A file that is not what `save` writes (damaged,
   * or edited by hand) throws BadPeersFileError naming it: it says whose keys are trusted, so it is
   * neither half-read nor rewritten without the entries that could not be read.
   */
  list(): TrustedPeer[] {
    let file: unknown;
    try {
      file = readJsonFile(this.path);
    } catch (error) {
      throw new BadPeersFileError(`The trusted-peer file is damaged: ${(error as Error).message}. Fix or remove it (then pair again).`);
    }
    if (file === undefined) return [];
    const peers = (file as Partial<PeersFile> | null)?.peers;
    if (!Array.isArray(peers)) throw new BadPeersFileError(`The trusted-peer file ${this.path} is damaged: it has no list of peers. Fix or remove it (then pair again).`);
    peers.forEach((peer, index) => {
      if (!isTrustedPeer(peer)) throw new BadPeersFileError(`The trusted-peer file ${this.path} is damaged: peer ${index + 1} is not a valid entry. Fix or remove it (then pair again).`);
    });
    return [...(peers as TrustedPeer[])].sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt));
  }

  /** Adds or updates a peer (matched by device id), keeping when it was first paired. */
  save(peer: Omit<TrustedPeer, 'pairedAt' | 'lastSeenAt'>, now = new Date()): TrustedPeer {
    const peers = this.list();
    const existing = peers.find((p) => p.deviceId === peer.deviceId);
    const saved: TrustedPeer = {
      ...peer,
      addresses: [...new Set(peer.addresses)].slice(0, 8),
      pairedAt: existing?.pairedAt ?? now.toISOString(),
      lastSeenAt: now.toISOString(),
    };
    this.write([saved, ...peers.filter((p) => p.deviceId !== peer.deviceId)]);
    return saved;
  }

  /** The peer with this device id, key pin (or a prefix of at least 6 characters) or exact name. */
  find(selector: string): TrustedPeer {
    const peers = this.list();
    const match = peers.find((p) => p.deviceId === selector || p.keySha256 === selector)
      ?? (selector.length >= 6 ? peers.find((p) => p.keySha256.startsWith(selector) || p.deviceId.startsWith(selector)) : undefined)
      ?? peers.find((p) => p.name === selector);
    if (!match) throw new UnknownPeerError(selector);
    return match;
  }

  /** The peer whose device key has this pin, if trusted. */
  byKey(keySha256: string): TrustedPeer | undefined {
    return this.list().find((p) => p.keySha256 === keySha256);
  }

  /** Removes a peer; returns it. */
  remove(selector: string): TrustedPeer {
    const peer = this.find(selector);
    this.write(this.list().filter((p) => p.deviceId !== peer.deviceId));
    return peer;
  }

  private write(peers: TrustedPeer[]): void {
    writeJsonFile(this.path, { version: 1, peers } satisfies PeersFile);
  }
}
