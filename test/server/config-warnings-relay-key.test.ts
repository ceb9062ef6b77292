import { describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { loadConfig } from '../../src/server/config.js';
import { configWarnings } from '../../src/server/config-warnings.js';

const sections = allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : []));
const warningsFor = (env: Record<string, string>) => configWarnings(loadConfig(sections, { env }), allDoors);

/**
 * The support origin sends PAIRGATE_SUPPORT_RELAY_API_KEY to the relay with every session it
 * publishes: a plain http:// PLEXUS_PAIRING_URL to another machine sent it in clear, and nothing
 * said so.
 */
describe('start-up warning: the relay API key travelling in clear', () => {
  const origin = { PAIRGATE_HOST: '0.0.0.0', PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: 'x'.repeat(24), PAIRGATE_RELAY_ENABLED: 'false' };
  const key = { PAIRGATE_SUPPORT_RELAY_API_KEY: 'relay-key-0123456789abcdefghijklmnop' };
  const inClear = (warning: string) => /PAIRGATE_SUPPORT_RELAY_API_KEY/.test(warning) && /in clear/.test(warning);

  it('an API key and an http:// relay on another machine: said, naming both keys and what to do, not the key itself', () => {
    const warnings = warningsFor({ ...origin, ...key, PLEXUS_PAIRING_URL: 'http://relay.example/pairing/?x=1' });
    expect(warnings.filter(inClear)).toEqual([
      'PLEXUS_PAIRING_URL is plain http to another machine (http://relay.example): PAIRGATE_SUPPORT_RELAY_API_KEY, sent to the relay with every session, travels in clear, and whoever copies it on the way can publish codes on the relay as this server. Set PLEXUS_PAIRING_URL to the relay\'s https:// address (or run the relay on this machine), and change the key if it has already been sent this way.',
    ]);
    expect(warnings.join('\n')).not.toContain(key.PAIRGATE_SUPPORT_RELAY_API_KEY);
    for (const host of ['10.0.0.5', '[2001:db8::5]', '0.0.0.0']) {
      expect(warningsFor({ ...origin, ...key, PLEXUS_PAIRING_URL: `http://${host}:8080/relay/pairing/` }).filter(inClear), host).toHaveLength(1);
    }
    // Said beside the short admin password's, not instead of it.
    expect(warningsFor({ ...origin, ...key, PLEXUS_AUTH_PASS: '1234', PLEXUS_PAIRING_URL: 'http://relay.example/pairing/' }).filter((w) => inClear(w) || /PLEXUS_AUTH_PASS has 4/.test(w))).toHaveLength(2);
  });

  it('quiet with https, a relay on this machine, or no key to send', () => {
    const quiet: Record<string, string>[] = [
      { ...key, PLEXUS_PAIRING_URL: 'https://relay.example/pairing/' },
      { ...key, PLEXUS_PAIRING_URL: 'http://127.0.0.1:8080/relay/pairing/' },
      { ...key, PLEXUS_PAIRING_URL: 'http://localhost:8080/relay/pairing/' },
      { ...key, PLEXUS_PAIRING_URL: 'http://[::1]:8080/relay/pairing/' },
      { PLEXUS_PAIRING_URL: 'http://relay.example/pairing/' },
      { ...key },
    ];
    for (const settings of quiet) expect(warningsFor({ ...origin, ...settings }).filter(inClear), JSON.stringify(settings)).toEqual([]);
  });
});
