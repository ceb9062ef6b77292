import { describe, expect, it } from 'vitest';
import { deviceDoor } from '../../../src/doors/device/device-door.js';
import { attackerGuessRate } from '../../../src/doors/shared/attacker-guess-rate.js';
import { supportRelayDoor } from '../../../src/doors/support/relay-door.js';
import { loadConfig } from '../../../src/server/config.js';
import { checkConfig } from '../../../src/server/start.js';

const relayConfig = (env: Record<string, string>) => loadConfig([supportRelayDoor.configSchema!], { env });

/**
 * What the rate limits let an attacker guess within a code's lifetime, counted as the fixed windows
 * they are. The hourly miss budget alone was counted as a steady rate (10 wrong codes per address
 * in 600 s) while an address could spend it twice within those 600 s (120); an address may now
 * spend a twelfth of the hour, at least 5, in any five minutes, and the figure counts that.
 */
describe('attackerGuessRate', () => {
  it('gives 15 guesses per address within a 600 s code with the defaults (three five-minute shares of 5)', () => {
    const config = relayConfig({});
    expect(attackerGuessRate(config, 600) * 600).toBeCloseTo(15 * config.PAIRGATE_ATTACKER_ADDRESSES, 6);
  });

  it('takes the tightest limit: the look-ups per minute when misses are plentiful, each counted window by window', () => {
    const config = relayConfig({ PAIRGATE_CODE_MISSES_PER_HOUR: '1000000', PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '30', PAIRGATE_ATTACKER_ADDRESSES: '1' });
    expect(attackerGuessRate(config, 600) * 600).toBeCloseTo(330, 6);
    expect(attackerGuessRate(config, 0)).toBe(0);
  });

  it('counts an hourly budget of 5 or fewer as spendable at once, twice across the end of its window', () => {
    const config = relayConfig({ PAIRGATE_CODE_MISSES_PER_HOUR: '4', PAIRGATE_ATTACKER_ADDRESSES: '1' });
    expect(attackerGuessRate(config, 600) * 600).toBeCloseTo(8, 6);
  });

  it('the start-up check refuses what the steady-rate figure let through: 150 relay codes, and device codes for an hour', () => {
    // 150 live relay codes: 1 in 1,030 by the steady rate, 1 in 690 now (budget 1 in 1,000).
    expect(() => checkConfig(relayConfig({ PAIRGATE_RELAY_MAX_LIVE_CODES: '150' }), [supportRelayDoor])).toThrow(/PAIRGATE_RELAY_MAX_LIVE_CODES: .*above the budget/);
    expect(() => checkConfig(relayConfig({}), [supportRelayDoor])).not.toThrow();
    const device = (env: Record<string, string>) => loadConfig([deviceDoor.configSchema!], { env });
    expect(() => checkConfig(device({}), [deviceDoor])).not.toThrow();
    expect(() => checkConfig(device({ PAIRGATE_DEVICE_MAX_PENDING: '2000' }), [deviceDoor])).toThrow(/PAIRGATE_DEVICE_MAX_PENDING/);
  });
});
