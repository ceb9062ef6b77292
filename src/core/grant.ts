/**
 * The grant: a short-lived, single-purpose request that a person approves or refuses, found by an
 * unguessable id or a short human code, redeemed once, then gone. Every door is a grant underneath.
 */

/** Where a grant is in its life. `expired` is derived from `expiresAt`, never stored as a live row. */
export type GrantState = 'pending' | 'approved' | 'refused' | 'redeemed' | 'expired';

/** The states a grant can still change from. */
export const OPEN_STATES: readonly GrantState[] = ['pending', 'approved'];

/** A grant as the stores hold it. Times are milliseconds since the epoch. */
export interface Grant<Request = unknown, Result = unknown> {
  /** 128-bit random id, base64url. */
  id: string;
  /** The door (and flow) the grant belongs to, e.g. `support`, `device`, `access`. */
  kind: string;
  state: GrantState;
  /** SHA-256 of the normalised human code, when the grant has one. */
  codeHash: string | null;
  /** SHA-256 of the grant's secret (e.g. a device code), when it has one. */
  secretHash: string | null;
  /** What is asked: kind-specific, shown to the person who decides. */
  request: Request;
  /** What approval (or refusal) produced: kind-specific. */
  result: Result | null;
  /** Failed look-ups or confirmations of this grant's code. */
  attempts: number;
  /** Incremented on every change: the compare-and-set guard and the waiters' cursor. */
  version: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
}

/** What a door supplies to create a grant. */
export interface NewGrant<Request = unknown> {
  kind: string;
  request: Request;
  /** Lifetime in milliseconds. */
  ttlMs: number;
  /** Keyed hash of the code (`CodeHasher`), when the grant is found by a human code. */
  codeHash?: string | null;
  /** Hash of a secret the creator keeps, e.g. to redeem. */
  secretHash?: string | null;
  /** A chosen id; random when absent. */
  id?: string;
  /**
   * Who creates it (a client network), recorded with the grant where a door caps how many live
   * grants one creator may hold (see `ownerCap`).
   */
  owner?: string | null;
  /**
   * The most live grants of this kind `owner` may hold, this one included. Honoured by a store that
   * counts owners itself (`GrantStore.countsOwners`), which refuses past it with OwnerCapError;
   * other stores record `owner` only, and the door keeps the cap its own way.
   */
  ownerCap?: number;
}

/** A change to a grant, applied only if its version still matches (compare-and-set). */
export interface GrantPatch<Request = unknown, Result = unknown> {
  state?: GrantState;
  request?: Request;
  result?: Result | null;
  expiresAt?: number;
  /** Set to null to spend the code (it can no longer be found). */
  codeHash?: string | null;
}
