import type { GrantEngine } from '../../src/engine/grant-engine.js';

/** The engine's own approve, as a hook around it receives it. */
export type Approve = (id: string, result: unknown) => Promise<unknown>;

/**
 * Runs `run` while every approval the engine records goes through `around` (which calls the real
 * `approve` when and as often as it likes), then puts the engine's own approve back, also when `run`
 * throws. Tests use it to land a racing decision exactly where they want it: another decision
 * recorded first, the same one recorded twice.
 */
export async function aroundApprove<T>(engine: GrantEngine, around: (approve: Approve, id: string, result: unknown) => Promise<unknown>, run: () => Promise<T>): Promise<T> {
  const approve = engine.approve.bind(engine) as Approve;
  engine.approve = ((id: string, result: unknown) => around(approve, id, result)) as typeof engine.approve;
  try {
    return await run();
  } finally {
    engine.approve = approve as typeof engine.approve;
  }
}
