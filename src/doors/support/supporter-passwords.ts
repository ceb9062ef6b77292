import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { accountsOf } from '../accounts/accounts.js';
import { PasswordHashing, type HashRequester } from '../accounts/password-hashing.js';
import type { DoorContext } from '../door.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 };

/** The accounts door's name, as `DoorContext.doors` lists it when it serves. */
const ACCOUNTS_DOOR = 'accounts';

/**
 * The gate the support door's supporter-password scrypts go through: the node's, which the
 * accounts door of the same server made (`PAIRGATE_PASSWORD_HASHES_AT_ONCE` and
 * `PAIRGATE_PASSWORD_HASH_QUEUE`), shared with sign-ins, since each scrypt holds 16 MiB and one of
 * libuv's threads. Taken from this server, never from another server of the process (tests start
 * several; a process-wide choice gave an older server the newest one's gate).
 *
 * A server that runs no accounts door (a list of doors without it, as an embedder or a test may
 * pass; `pairgate serve` always runs it beside the origin) gets a gate of its own with the
 * accounts' default places (2 running, 32 waiting), so the scrypts are bounded still. The accounts
 * door registers before this one (`allDoors`' order); one listed after it is a mistake that
 * `accountsOf` says at start-up rather than a second gate made in silence.
 */
export function supporterPasswordGate(app: FastifyInstance, ctx: DoorContext): PasswordHashing {
  if (ctx.doors.some((door) => door.name === ACCOUNTS_DOOR)) return accountsOf({ server: app }).parts.hashing;
  return new PasswordHashing({ cost: Math.log2(SCRYPT.N), atOnce: 2, waiting: 32 });
}

/**
 * Supporter passwords (a session's own login): scrypt at a fixed N, `scrypt$<salt>$<hash>`, every
 * hash through `gate` (503 `password_hashing_busy` when it is full, `password_hashing_network_busy`
 * when the request's network holds its share of the waiting places, with Retry-After, rather than queued without bound in
 * front of everyone's sign-ins), for `from`: the request's client network and the signal of its
 * client leaving (`hashRequesterOf`), so a hash waiting for a client that left never runs.
 */
export class SupporterPasswords {
  /** A hash of a random password, made once (lazily): what a login that is not there is checked against. */
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly gate: PasswordHashing) {}

  /** A scrypt hash of a session password: `scrypt$<salt>$<hash>`. */
  async hash(password: string, from: HashRequester | undefined): Promise<string> {
    const salt = randomBytes(16);
    const hash = await this.gate.run(() => scryptAsync(password, salt, 32, SCRYPT), from);
    return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
  }

  /** Checks a password against a `hash` hash, in constant time. */
  async verify(password: string, stored: string, from: HashRequester): Promise<boolean> {
    const [scheme, salt, hash] = stored.split('$');
    if (scheme !== 'scrypt' || !salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64url');
    const actual = await this.gate.run(() => scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, SCRYPT), from);
    return timingSafeEqual(actual, expected);
  }

  /**
   * Checks `password` against `stored`, or, when there is nothing to check it against (a username
   * that is not the session's login, a session without one, an id no session has), against a dummy
   * hash and answers false. Every refusal of credentials thus costs one scrypt, as a wrong password
   * does, so the time taken tells neither a session's login name nor whether it exists. The dummy
   * hash is the node's own work, made once for every request that needs it: in no network's share,
   * and not given up when the request that started it leaves.
   */
  async verifyOrDummy(password: string, stored: string | undefined, from: HashRequester): Promise<boolean> {
    if (stored !== undefined) return this.verify(password, stored, from);
    const made = (this.dummyHash ??= this.hash(randomBytes(16).toString('base64url'), undefined));
    let dummy: string;
    try {
      dummy = await made;
    } catch (error) {
      // Refused by a busy gate: the next check makes the dummy hash again, rather than every later
      // one being refused by the same failed promise. Only the making's own failure: a check
      // against a dummy hash that was made, refused or given up (its client gone), forgot it too,
      // and the next check paid a second scrypt to make it again.
      if (this.dummyHash === made) this.dummyHash = undefined;
      throw error;
    }
    await this.verify(password, dummy, from);
    return false;
  }
}
