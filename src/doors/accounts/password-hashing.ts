import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { PairgateError } from '../../core/errors.js';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords.js';

/** The machine code of a password check or hash refused because the server is busy with others. */
export const PASSWORD_HASHING_BUSY = 'password_hashing_busy';

/** The machine code of a password check or hash refused because its client network holds its share of the queue. */
export const PASSWORD_HASHING_NETWORK_BUSY = 'password_hashing_network_busy';

/** The machine code of a hash given up while it waited, its client gone (`HashRequester.signal`). */
export const PASSWORD_HASH_CLIENT_GONE = 'client_closed_request';

/** Seconds a refused request is told to wait: a queue's worth of hashes takes about that long. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** How many password hashes may run at once on a node, and how many may wait for a place. */
export interface PasswordHashingOptions {
  /** log2 of scrypt's N for new hashes (`PAIRGATE_SCRYPT_COST`). */
  cost: number;
  /** Hashes running at once (`PAIRGATE_PASSWORD_HASHES_AT_ONCE`). */
  atOnce: number;
  /** Hashes waiting for a place beyond those (`PAIRGATE_PASSWORD_HASH_QUEUE`); one more is refused. */
  waiting: number;
}

/**
 * Whom a hash is for: the request's client network, whose share of the waiting places it takes
 * (`waitingShare`), and the signal that says its client has gone (`clientGoneSignal`). Undefined
 * in its place: the node's own work (a dummy hash, made once and shared by every request), counted
 * in no network's share and given up by no client.
 */
export interface HashRequester {
  /** `request.clientNetwork` (`publicNetworkOf`: an IPv4 address, an IPv6 /64), as every per-network limit counts. */
  network: string;
  /** Aborted once the client has gone: a hash still waiting gives its place up; one running finishes. */
  signal?: AbortSignal;
}

/**
 * The waiting places one network may hold: a quarter of the queue, at least 2, and never all of a
 * queue of 2 or more, so that no one network (an IPv4 address, an IPv6 /64), nor a botnet of fewer
 * than four, fills the queue by itself. 32 places give 8 each; 8 give 2; 2 give 1; 1 gives 1 (a
 * queue of one place cannot be shared).
 */
export function waitingShare(waiting: number): number {
  if (waiting <= 1) return waiting;
  return Math.min(waiting - 1, Math.max(2, Math.floor(waiting / 4)));
}

/**
 * The hash of a request whose client left while it waited: it never ran. 499, as nginx logs a
 * request closed by its client: no client reads it, and the error handler logs no 4xx as a fault.
 * Nothing is rendered for it: a form catching it throws it on (`isPasswordHashClientGone`), and the
 * error handler sends a gone client no body.
 */
export class PasswordHashClientGoneError extends PairgateError {
  constructor() {
    super(PASSWORD_HASH_CLIENT_GONE, 499, 'The client closed the connection while its password waited to be checked; it was not checked.');
  }
}

/** Whether `error` is a hash given up because its client left (`PasswordHashClientGoneError`). */
export function isPasswordHashClientGone(error: unknown): boolean {
  return error instanceof PasswordHashClientGoneError;
}

/** Each connection's signal that it closed (`clientGoneSignal`): one listener per socket, kept with it. */
const closedSignals = new WeakMap<Socket, AbortSignal>();

/**
 * A signal aborted once the connection of `request` closes: the client has gone, nobody will read
 * the answer. The connection's, not the request's own 'close': a POST's request (every form)
 * closes once its body is read, client or not (as `doors/shared/waiting.ts` found). One signal per
 * connection, its one listener added once: a keep-alive connection carries many requests, and a
 * listener per request left on it would pile up.
 */
export function clientGoneSignal(request: FastifyRequest): AbortSignal {
  const socket = request.raw.socket as Socket | null;
  if (!socket || socket.destroyed) return AbortSignal.abort();
  let signal = closedSignals.get(socket);
  if (!signal) {
    const controller = new AbortController();
    socket.once('close', () => controller.abort());
    signal = controller.signal;
    closedSignals.set(socket, signal);
  }
  return signal;
}

/**
 * Whether the connection of `request` has closed already: what `clientGoneSignal` says, read
 * without adding a listener, for a page about to be rendered (`renderPage`) that nobody would read.
 */
export function clientHasGone(request: FastifyRequest): boolean {
  return (request.raw.socket as Socket | null)?.destroyed === true;
}

/** The requester of the hashes `request` asks for: its client network and its connection's signal. */
export function hashRequesterOf(request: FastifyRequest): HashRequester {
  return { network: request.clientNetwork, signal: clientGoneSignal(request) };
}

/** A hash waiting for a place. */
interface Waiter {
  /** Hands it the place of a hash that ended (`release`). */
  wake(): void;
}

/**
 * The refusal of a hash that found every place taken and the queue full: 503, since it is the
 * server's load, not anything this client did (RFC 9110 15.6.4: "temporary overload"); a 429 would
 * tell a person who signed in once that they asked too often. Retry-After says when to try again.
 */
export class PasswordHashingBusyError extends PairgateError {
  constructor() {
    super(PASSWORD_HASHING_BUSY, 503, 'The server is busy checking other passwords. Try again in a moment.', { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS });
  }
}

/**
 * The refusal of a hash whose client network already holds its share of the waiting places
 * (`waitingShare`) while the queue still has room for others': 503 with Retry-After as a full
 * queue, since to a person behind that network (a household's one address, a company's NAT) the
 * server is as busy, but a code of its own, so that an operator or a client tells one busy network
 * from a busy server.
 */
export class PasswordHashingNetworkBusyError extends PairgateError {
  constructor() {
    super(PASSWORD_HASHING_NETWORK_BUSY, 503, 'Many sign-ins from your network are already waiting to be checked. Try again in a moment.', { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS });
  }
}

/** Whether `error` is a hash refused by the gate at once (`PasswordHashingBusyError`, `PasswordHashingNetworkBusyError`): a 503 a form says in words. */
export function isPasswordHashingBusy(error: unknown): boolean {
  return error instanceof PasswordHashingBusyError || error instanceof PasswordHashingNetworkBusyError;
}

/**
 * Every password hash of the accounts door (sign-in, registration, change, reset, deletion, the
 * dummy hash of unknown names) goes through one gate per node: at most `atOnce` scrypts run at
 * once, the next `waiting` wait their turn, and any more are refused at once
 * (`PasswordHashingBusyError`) without costing anything. One client network holds at most
 * `waitingShare(waiting)` of the waiting places, one more of its hashes refused
 * (`PasswordHashingNetworkBusyError`) while other networks' still wait: else a few networks, each
 * within its sign-ins a minute, filled the queue and every other person's sign-in was refused.
 * The waiting are served round robin by client network, each network's in order of arrival: in
 * order of arrival alone, one network's 8 places ahead of a person still held that person's
 * sign-in for 8 scrypts; now it waits for at most one of each network ahead. A hash whose client
 * has gone (`HashRequester.signal`) gives its waiting place up and never runs
 * (`PasswordHashClientGoneError`): else a client that sent and left cost a scrypt nobody read, and
 * its place was kept from the next.
 *
 * Why: each scrypt holds 32 MiB (at the default cost) and one of libuv's threads (4 by default,
 * shared with file reads and DNS look-ups) for a tenth of a second or so. Unbounded, whoever sends
 * sign-ins as fast as the rate limits let them (a right password spends no failure budget) queued
 * hashes without end on those threads, and everyone else's sign-in waited behind them for seconds or
 * timed out. Bounded, the memory and threads hashes take are fixed, a wait is at most a queue's
 * worth of hashes, and what cannot be served soon is told so at once. The gate counts this node
 * only, as the threads and memory it protects are this node's.
 */
export class PasswordHashing {
  private running = 0;
  /** Hashes that took a place since the gate was made (`started`). */
  private begun = 0;
  /** Hashes given up while they waited, their clients gone (`givenUp`). */
  private left = 0;
  /**
   * The hashes waiting for a place, by network (undefined: the node's own), each network's in order
   * of arrival; only networks waiting now. The map's order is the rotation: the first network's
   * first hash is served next, and the network goes to the end (`next`).
   */
  private readonly lanes = new Map<string | undefined, Waiter[]>();
  /** Hashes in `lanes`, all networks together. */
  private waitingCount = 0;
  /** `waitingShare(options.waiting)`. */
  private readonly share: number;

  constructor(private readonly options: PasswordHashingOptions) {
    if (!(options.atOnce >= 1) || !(options.waiting >= 0)) throw new Error('a password hashing gate needs a place, and no negative queue');
    this.share = waitingShare(options.waiting);
  }

  /** log2 of scrypt's N for new hashes. */
  get cost(): number {
    return this.options.cost;
  }

  /**
   * Hashes `password` at the configured cost for `from`; 503 `password_hashing_busy` when the gate
   * is full, 503 `password_hashing_network_busy` when `from`'s network holds its share of the
   * queue, 499 `client_closed_request` when `from`'s client leaves first.
   */
  hash(password: string, from: HashRequester | undefined): Promise<string> {
    return this.gated(() => hashPassword(password, this.options.cost), from);
  }

  /** Whether `password` matches `stored` (`verifyPassword`), for `from`; refused as `hash` is. */
  verify(password: string, stored: string, from: HashRequester | undefined): Promise<boolean> {
    return this.gated(() => verifyPassword(password, stored), from);
  }

  /**
   * A hash of a random password at the configured cost (`dummyHash`), through the gate as well: the
   * node's own work (made once, shared by the requests that need it), in no network's share.
   */
  dummy(): Promise<string> {
    return this.gated(() => dummyHash(this.options.cost), undefined);
  }

  /**
   * Runs `work`, a password hash of another door's own format (the support door's supporter
   * passwords: `doors/support/supporter-passwords.ts`, handed this gate when its server runs the
   * accounts door), through this gate as the accounts' own hashes run, for `from`; refused as
   * `hash` is.
   */
  run<T>(work: () => Promise<T>, from: HashRequester | undefined): Promise<T> {
    return this.gated(work, from);
  }

  /** Whether `stored` was made at another cost than the configured one (`needsRehash`). */
  needsRehash(stored: string): boolean {
    return needsRehash(stored, this.options.cost);
  }

  /** Hashes running now and waiting (for tests and metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waitingCount };
  }

  /**
   * Hashes that have taken a place (run or running) since the gate was made; refused ones are not
   * counted. For tests and metrics: how many scrypts a series of requests cost.
   */
  get started(): number {
    return this.begun;
  }

  /** Hashes given up while they waited, their clients gone, since the gate was made (for tests and metrics). */
  get givenUp(): number {
    return this.left;
  }

  private async gated<T>(work: () => Promise<T>, from: HashRequester | undefined): Promise<T> {
    // A client gone already (during the look-ups before) takes no place, not even a free one.
    if (from?.signal?.aborted) throw new PasswordHashClientGoneError();
    if (this.running < this.options.atOnce) this.running++;
    else await this.wait(from);
    // Here this hash holds a place: taken above, or handed over by the one that ended (`release`).
    this.begun++;
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /**
   * Waits for a place handed over by a hash that ended (`release`); refuses at once when the queue
   * is full or `from`'s network holds its share of it, and gives the place up when `from`'s client
   * goes first.
   */
  private wait(from: HashRequester | undefined): Promise<void> {
    const network = from?.network;
    if (this.waitingCount >= this.options.waiting) return Promise.reject(new PasswordHashingBusyError());
    const lane = this.lanes.get(network) ?? [];
    if (network !== undefined && lane.length >= this.share) return Promise.reject(new PasswordHashingNetworkBusyError());
    return new Promise<void>((resolve, reject) => {
      const signal = from?.signal;
      const leave = (): void => {
        const at = lane.indexOf(waiter);
        // Already handed a place (woken): it runs, as a running hash does.
        if (at < 0) return;
        lane.splice(at, 1);
        this.waitingCount--;
        if (lane.length === 0) this.lanes.delete(network);
        this.left++;
        reject(new PasswordHashClientGoneError());
      };
      const waiter: Waiter = {
        wake: () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        },
      };
      // A network waiting already keeps its turn in the rotation; a new one joins at its end.
      if (lane.length === 0) this.lanes.set(network, lane);
      lane.push(waiter);
      this.waitingCount++;
      signal?.addEventListener('abort', leave, { once: true });
    });
  }

  /**
   * Takes the next waiting hash: the first of the network whose turn it is (the map's first), that
   * network then going to the end of the rotation while it has more waiting. A network with nothing
   * waiting thus goes ahead of another's 2nd..8th, and each step is a few map operations.
   */
  private next(): Waiter | undefined {
    const first = this.lanes.entries().next();
    if (first.done === true) return undefined;
    const [network, lane] = first.value;
    const waiter = lane.shift();
    this.lanes.delete(network);
    if (lane.length > 0) this.lanes.set(network, lane);
    this.waitingCount--;
    return waiter;
  }

  /** Hands the place of a hash that ended to the next waiting (`next`), else frees it. */
  private release(): void {
    const next = this.next();
    if (next) next.wake();
    else this.running--;
  }
}
