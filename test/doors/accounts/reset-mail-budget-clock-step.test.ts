import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { ResetMailBudget } from '../../../src/doors/accounts/reset-mail-budget.js';
import { ephemeralAdapters, type OpenedEphemeral } from '../../store/ephemeral-adapters.js';

const HOUR_MS = 3_600_000;

describe('the reset-mail budget when the wall clock is stepped back (NTP, a VM resumed)', () => {
  let opened: OpenedEphemeral | undefined;
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  it('holds a spent hour for an hour from the step, not for the step\'s length too', async () => {
    const [sqlite] = await ephemeralAdapters();
    opened = await sqlite!.open();
    const clock = new ManualClock();
    const budget = new ResetMailBudget(opened.nodes[0]!, clock, 2);
    expect(await budget.take('u1')).toBe(true);
    expect(await budget.take('u1')).toBe(true);
    expect(await budget.take('u1')).toBe(false);
    // A day back: the window opened then ends 25 hours from the clock's new now.
    clock.advance(-24 * HOUR_MS);
    expect(await budget.take('u1')).toBe(false);
    clock.advance(HOUR_MS + 1_000);
    // An hour after the step the person may be mailed again (the window ran 25 hours before).
    expect(await budget.take('u1')).toBe(true);
  });
});
