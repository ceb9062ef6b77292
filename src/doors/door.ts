import type { FastifyInstance, FastifyBaseLogger } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { CodeGuard, LookupRefusal } from '../engine/code-guard.js';
import type { GrantEngine } from '../engine/grant-engine.js';
import type { MigrationSet } from '../store/durable-schema.js';
import type { Stores } from '../store/ports.js';
import type { ConfigSection } from '../server/config-schema.js';
import type { Config } from '../server/config.js';
import type { DoorSweep } from '../server/door-sweeps.js';
import type { ErrorShape } from '../server/error-shapes.js';
import type { PageLanguage } from '../web/page-language.js';
import type { Pages } from '../web/pages.js';
import type { WaitSlots } from './shared/wait-slots.js';

/** What the server hands each door: the engine, the store ports and the shared helpers. */
export interface DoorContext {
  config: Config;
  engine: GrantEngine;
  /** Store ports (never an adapter): ephemeral entries, durable Kysely, the notifier, the bus between nodes. */
  stores: Pick<Stores, 'ephemeral' | 'db' | 'notifier' | 'bus'>;
  codeGuard: CodeGuard;
  clock: Clock;
  logger: FastifyBaseLogger;
  /** Server-rendered pages: templates with automatic escaping, CSRF tokens, static assets. */
  pages: Pages;
  /** Base URL clients reach this server at, without a trailing slash. */
  publicUrl(): string;
  /**
   * Makes every error of the routes of `instance` render in `shape` (a door's wire format); with
   * `pathPrefixes`, also what no route answers under them (`/mattermost`: a malformed %-escape, a
   * path parameter too long, an unknown path), which the router refuses before any door's route;
   * `linkPrefixes` the same, except that a browser asking for HTML first gets the error page there
   * (addresses people open from a link, such as a pairing code's).
   */
  useErrorShape(instance: FastifyInstance, shape: ErrorShape, options?: { pathPrefixes?: readonly string[]; linkPrefixes?: readonly string[] }): void;
  /** Aborted when the server shuts down: long waits and streams end on it. */
  shutdownSignal: AbortSignal;
  /** Long-polls and event streams each client network holds open (PAIRGATE_WAITS_PER_CLIENT). */
  waitSlots: WaitSlots;
  /**
   * Lets the routes of `scope` declared with `websocket: true` take WebSocket connections; upgrades
   * to any other address are refused. Called for one scope per server (see WebSocketUpgrades).
   */
  acceptWebSockets(scope: FastifyInstance): Promise<void>;
  /** The doors serving in this configuration (for the home page's links). */
  doors: readonly Door[];
  /**
   * Runs `sweep` with the clock's time every PAIRGATE_SWEEP_SECONDS, but at most once a minute,
   * until the server closes (without waiting for a run in progress); a failure is logged as
   * `<name> sweep failed` and the next run comes as planned. For a door's clean-up of its own rows
   * (src/server/door-sweeps.ts).
   */
  everySweep(name: string, sweep: DoorSweep): void;
}

/** A link the home page offers to a door's page for people. */
export interface HomeLink {
  href: string;
  /** The link's name and its line of explanation, in English. */
  title: string;
  text: string;
  /** The same two in the pages' other languages (French with plain spaces: the home page makes them no-break). */
  translations?: Partial<Readonly<Record<PageLanguage, { title: string; text: string }>>>;
  /** Position on the page, lowest first. */
  order: number;
}

/**
 * A door: a thin mapping of one wire format onto the grant engine. Doors are listed in
 * src/doors/index.ts; adding one is one line there.
 */
export interface Door {
  /** Short name, also the metrics label. */
  name: string;
  /** Its configuration keys (validated with every other key at start-up). */
  configSchema?: ConfigSection;
  /** Its durable tables. */
  migrations?: MigrationSet;
  /** Whether the door serves in this configuration (e.g. the relay only when enabled). */
  enabled?(config: Config): boolean;
  /** Checks of the door's configuration that a schema cannot express (e.g. the brute-force budget). */
  checkConfig?(config: Config): void;
  /**
   * Settings of the door that are allowed but risky on a server other machines reach, each a
   * sentence saying what to set (logged as a warning at start-up; see `configWarnings`).
   */
  configWarnings?(config: Config): string[];
  /**
   * The most descriptors the door's own listeners may open as they run, beyond those open once
   * started (each listener's cap on its connections): kept out of the HTTP listener's connection
   * cap, so a full DNS listener cannot leave the process without descriptors (`connection-cap.ts`).
   */
  descriptorsAtMost?(config: Config): number;
  /**
   * The code guard's scope this door looks codes up in (the `door` label of the code metrics,
   * `pairgate_code_misses_total` and `pairgate_code_lookups_refused_total`), with the budgets of
   * its own it adds to the guard's (`ownBudgets`): their series are shown from the start. None for
   * a door that looks no code up.
   */
  codeScope?: { scope: string; ownBudgets?: readonly LookupRefusal[] };
  /** Registers routes, inside an encapsulated plugin of its own. */
  register(app: FastifyInstance, ctx: DoorContext): Promise<void>;
  /**
   * The links this door offers on the home page, asked on every view (so a door may offer a page
   * only while it leads somewhere); none when absent.
   */
  homeLinks?(ctx: DoorContext): readonly HomeLink[] | Promise<readonly HomeLink[]>;
}
