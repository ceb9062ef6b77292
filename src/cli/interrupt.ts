/**
 * Ctrl-C during a command's long wait (`grant create` waiting for the decision, `join` waiting for
 * the person's answer): the wait's SDK call is aborted, what the command left on the server is
 * cleaned up, one line says what happened, and the command ends by SIGINT, as `pairgate lan` does
 * (`cleanUpOnSignal`): the shell shows exit status 130, and a script running it stops too.
 */

/** Longest wait for the clean-up once Ctrl-C was pressed: the person wants the command gone. */
export const CLEAN_UP_MS = 3_000;

/**
 * What to do on Ctrl-C: given a signal that ends after {@link CLEAN_UP_MS}, undo what the wait
 * left (a call to the server) and answer the line to print. A clean-up that fails or runs out of
 * time is the line `fallback`.
 */
export interface InterruptPlan {
  cleanUp: (signal: AbortSignal) => Promise<string>;
  fallback: (error: unknown) => string;
}

/** A wait that Ctrl-C ends (see {@link whileInterruptible}). */
export interface InterruptibleWait {
  /** Aborted on Ctrl-C: hand it to every SDK call of the wait. */
  readonly signal: AbortSignal;
  /** Ends the Ctrl-C handling (the wait is over): a later Ctrl-C is Node's again. */
  done(): void;
}

/**
 * From now until `done()`, Ctrl-C aborts the returned signal, runs `plan.cleanUp` (at most
 * {@link CLEAN_UP_MS}), prints its line on standard error and ends the process by SIGINT. A
 * second Ctrl-C meanwhile ends it at once: the handler runs once, and Node's own SIGINT, death
 * by the signal, is back.
 */
export function whileInterruptible(plan: InterruptPlan): InterruptibleWait {
  const controller = new AbortController();
  const onSigint = (): void => {
    controller.abort(new Error('Ctrl-C'));
    void cleanUpBounded(plan).then((line) => {
      process.stderr.write(`\npairgate: ${line}\n`, () => process.kill(process.pid, 'SIGINT'));
    });
  };
  process.once('SIGINT', onSigint);
  return {
    signal: controller.signal,
    done: () => process.removeListener('SIGINT', onSigint),
  };
}

/** `plan.cleanUp`'s line, or its fallback's when it fails or takes longer than {@link CLEAN_UP_MS}. */
async function cleanUpBounded(plan: InterruptPlan): Promise<string> {
  try {
    return await plan.cleanUp(AbortSignal.timeout(CLEAN_UP_MS));
  } catch (error) {
    return plan.fallback(error);
  }
}
