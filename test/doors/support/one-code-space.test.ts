import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { requestFrom, selfRelayingOriginEnv } from './helpers.js';

/**
 * A server that is both the relay (at /relay) and the origin publishing there: its relay's codes
 * and its pairing codes are one code space, so a guess at either spends the same miss budget.
 * Before, each had its own, and an address got twice the guesses the start-up check allowed for.
 */
describe('support codes at the relay and at the origin of one server', () => {
  const server = useListeningApp((url) => selfRelayingOriginEnv(url, { PAIRGATE_CODE_MISSES_PER_HOUR: '4' }));

  it('share one miss budget per address: two wrong codes at each, and the fifth guess is refused at both', async () => {
    const from = '127.0.0.31';
    const wrong = ['2bcdef', '3bcdef', '4bcdef', '5bcdef'];
    const json = { accept: 'application/json' };
    const misses = [
      await requestFrom(from, `${server.base}/relay/pairing/${wrong[0]}`, { headers: json }),
      await requestFrom(from, `${server.base}/pairing/${wrong[1]}`, { headers: json }),
      await requestFrom(from, `${server.base}/relay/pairing/${wrong[2]}`, { headers: json }),
      await requestFrom(from, `${server.base}/pairing/${wrong[3]}`, { headers: json }),
    ];
    expect(misses.map((miss) => miss.status)).toEqual([404, 404, 404, 404]);
    const atRelay = await requestFrom(from, `${server.base}/relay/pairing/6bcdef`, { headers: json });
    const atOrigin = await requestFrom(from, `${server.base}/pairing/7bcdef`, { headers: json });
    expect([atRelay.status, atOrigin.status]).toEqual([429, 429]);
    expect(atOrigin.body).toMatch(/Too many wrong codes/);
    // Another address has its own budget.
    expect((await requestFrom('127.0.0.32', `${server.base}/pairing/8bcdef`, { headers: json })).status).toBe(404);
  });
});
