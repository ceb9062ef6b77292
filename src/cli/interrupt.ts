/**
 * Ctrl-C (or SIGTERM, from a script or a service manager) during a command's long wait (`grant
 * create` waiting for the decision, `join` waiting for the person's answer): the wait's SDK call is
 * aborted, what the command left on the server is cleaned up, one line says what happened, and the
 * command ends by the signal it was sent, as `pairgate lan` does (`cleanUpOnSignal`): the shell
 * shows exit status 130 for SIGINT, 143 for SIGTERM, and a script running it stops too.
 */

/** Longest wait for the clean-up once Ctrl-C was pressed: the person wants the command gone. */
export const CLEAN_UP_MS = 3_000;

/** A signal that asks a command to stop: SIGINT (Ctrl-C) or SIGTERM (`kill`, systemd, a script). */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Both stop signals, for a wait whose clean-up matters whoever stops it (see {@link whileInterruptible}). */
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

/** How the line a stopped command prints names `stop`: Ctrl-C is how a person sends SIGINT. */
export function stoppedBy(stop: StopSignal): string {
  return stop === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
}

/**
 * What to do on Ctrl-C: given a signal that ends after {@link CLEAN_UP_MS} and the stop signal
 * received, undo what the wait left (a call to the server) and answer the line to print. A
 * clean-up that fails or runs out of time is the line `fallback`.
 */
export interface InterruptPlan {
  cleanUp: (signal: AbortSignal, stop: StopSignal) => Promise<string>;
  fallback: (error: unknown, stop: StopSignal) => string;
}

/** A wait that Ctrl-C ends (see {@link whileInterruptible}). */
export interface InterruptibleWait {
  /** Aborted on Ctrl-C: hand it to every SDK call of the wait. */
  readonly signal: AbortSignal;
  /** Ends the Ctrl-C handling (the wait is over): a later Ctrl-C is Node's again. */
  done(): void;
}

/**
 * From now until `done()`, each of `signals` aborts the returned signal, runs `plan.cleanUp` (at
 * most {@link CLEAN_UP_MS}), prints its line on standard error and ends the process by the signal
 * received. A second stop signal meanwhile ends it at once: the
 * handler runs once, and Node's own handling, death by the signal, is back for all of them.
 * `signals` is Ctrl-C alone unless told: a plan's lines must name the signal received
 * ({@link stoppedBy}) before it takes {@link STOP_SIGNALS}.
 */
export function whileInterruptible(plan: InterruptPlan, signals: readonly StopSignal[] = ['SIGINT']): InterruptibleWait {
  const controller = new AbortController();
  const release = (): void => {
    for (const signal of signals) process.removeListener(signal, handlers[signal]);
  };
  const onStop = (stop: StopSignal): void => {
    release();
    controller.abort(new Error(stoppedBy(stop)));
    void cleanUpBounded(plan, stop).then((line) => {
      process.stderr.write(`\npairgate: ${line}\n`, () => process.kill(process.pid, stop));
    });
  };
  const handlers: Record<StopSignal, () => void> = { SIGINT: () => onStop('SIGINT'), SIGTERM: () => onStop('SIGTERM') };
  for (const signal of signals) process.once(signal, handlers[signal]);
  return { signal: controller.signal, done: release };
}

/** `plan.cleanUp`'s line, or its fallback's when it fails or takes longer than {@link CLEAN_UP_MS}. */
async function cleanUpBounded(plan: InterruptPlan, stop: StopSignal): Promise<string> {
  try {
    return await plan.cleanUp(AbortSignal.timeout(CLEAN_UP_MS), stop);
  } catch (error) {
    return plan.fallback(error, stop);
  }
}
