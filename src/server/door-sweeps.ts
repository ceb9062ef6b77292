import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';

/**
 * The shortest time between two runs of a door's sweep, in seconds. The doors sweep rows kept past
 * their use (ended accesses, expired tokens, sessions and reset requests, rotated installations):
 * no one waits on them the way a person waits on a grant, so once a minute is soon enough, however
 * short PAIRGATE_SWEEP_SECONDS is set for the server's own grant sweep.
 */
export const DOOR_SWEEP_MIN_SECONDS = 60;

/** A door's clean-up, given the clock's time; what it resolves to is not used. */
export type DoorSweep = (now: number) => Promise<unknown>;

/** Starts a door's periodic sweep (see `DoorContext.everySweep`). */
export type EverySweep = (name: string, sweep: DoorSweep) => void;

/** What the doors' sweeps share besides the app whose close stops them. */
export interface DoorSweepOptions {
  clock: Clock;
  logger: FastifyBaseLogger;
  /** Time between two runs of each sweep, in milliseconds. */
  periodMs: number;
}

/** The period of the doors' sweeps: PAIRGATE_SWEEP_SECONDS, but never under DOOR_SWEEP_MIN_SECONDS. */
export function doorSweepPeriodMs(sweepSeconds: number): number {
  return Math.max(DOOR_SWEEP_MIN_SECONDS, sweepSeconds) * 1000;
}

/**
 * Makes the `everySweep` of the doors' context. Each sweep runs every `periodMs` with the clock's
 * time, on a timer that does not keep the process alive; a failure (a rejection, or a throw before
 * the sweep's first await) is logged as `<name> sweep failed` and the next run comes as planned, as
 * a store that is briefly down must not end a door's clean-up; a run due while the last one still
 * runs is skipped (logged). The timer is cleared when `app`
 * closes: the app's onClose hooks run one after the other in the reverse of their adding, whatever
 * plugin added them, so this hook runs where the door's own hook added at the same point would.
 * A sweep already running then is not waited for: it is a few DELETEs, which either finish before
 * the stores close (after the app) or fail and are logged, and the next sweep redoes them.
 */
export function doorSweeps(app: FastifyInstance, options: DoorSweepOptions): EverySweep {
  return (name, sweep) => {
    const runSweep = async (): Promise<unknown> => sweep(options.clock.now());
    // A run still going when the next is due (a store that answers very slowly) is not joined by
    // another: two would delete the same rows side by side, and a store that is struggling would
    // get more work each period. The due run is skipped and said so; the next period tries again.
    let running = false;
    const timer = setInterval(() => {
      if (running) {
        options.logger.warn(`${name} sweep still running after ${options.periodMs / 1000} s; this run skipped`);
        return;
      }
      running = true;
      runSweep()
        .catch((error: unknown) => options.logger.warn({ err: error }, `${name} sweep failed`))
        .finally(() => {
          running = false;
        });
    }, options.periodMs);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  };
}
