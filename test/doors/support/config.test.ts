import { describe, expect, it } from 'vitest';
import { maxSessions, publishesOnOwnRelay } from '../../../src/doors/support/code-budget.js';
import { supportDoor } from '../../../src/doors/support/support-door.js';
import { supportRelayDoor } from '../../../src/doors/support/relay-door.js';
import { loadConfig } from '../../../src/server/config.js';
import { checkConfig } from '../../../src/server/start.js';

const doors = [supportDoor, supportRelayDoor];
const load = (env: Record<string, string>) => loadConfig(doors.map((door) => door.configSchema!), { env });
const BASE = { PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: '1234' };

describe('support configuration', () => {
  it('the origin is on when its credentials are set (auto), off in relay-only mode', () => {
    expect(supportDoor.enabled!(load({}))).toBe(false);
    expect(supportDoor.enabled!(load(BASE))).toBe(true);
    expect(supportDoor.enabled!(load({ ...BASE, PAIRGATE_SUPPORT_ORIGIN: 'off' }))).toBe(false);
    expect(supportDoor.enabled!(load({ ...BASE, PAIRGATE_RELAY_ONLY: 'true' }))).toBe(false);
    expect(() => checkConfig(load({ PAIRGATE_SUPPORT_ORIGIN: 'on' }), doors)).toThrow(/PLEXUS_AUTH_USER: .*required/);
  });

  it('refuses bad values naming the key', () => {
    expect(() => checkConfig(load({ ...BASE, PLEXUS_PAIRING_URL: 'ftp://relay.example/pairing/' }), doors)).toThrow(/PLEXUS_PAIRING_URL: expected an absolute http\(s\) URL/);
    // fetch refuses a URL with credentials: each session failed with the relay "unreachable".
    expect(() => checkConfig(load({ ...BASE, PLEXUS_PAIRING_URL: 'https://key:secret@relay.example/pairing/' }), doors)).toThrow(/PLEXUS_PAIRING_URL: must not carry a user or password .*PAIRGATE_SUPPORT_RELAY_API_KEY/);
    expect(() => checkConfig(load({ ...BASE, PLEXUS_COMPANY_LOGO: 'logo.png' }), doors)).toThrow(/PLEXUS_COMPANY_LOGO/);
    expect(() => checkConfig(load({ ...BASE, PLEXUS_COMPANY_LOGO: 'http://cdn.example/logo.png' }), doors)).toThrow(/PLEXUS_COMPANY_LOGO: expected an absolute https URL/);
    expect(() => load({ PLEXUS_PAIRING_TTL: 'ten' })).toThrow(/PLEXUS_PAIRING_TTL: expected a whole number/);
    expect(() => checkConfig(load({ ...BASE, PAIRGATE_SUPPORT_DEFAULT_TTL: '90000' }), doors)).toThrow(/PAIRGATE_SUPPORT_DEFAULT_TTL/);
  });

  it('checks the brute-force budget of the origin\'s codes when pairing is on', () => {
    const pairing = { ...BASE, PLEXUS_PAIRING_URL: 'https://relay.example/pairing/' };
    expect(() => checkConfig(load(pairing), doors)).not.toThrow();
    expect(() => checkConfig(load({ ...pairing, PAIRGATE_SUPPORT_MAX_SESSIONS: '100000' }), doors)).toThrow(/PAIRGATE_SUPPORT_MAX_SESSIONS: codes of 30\.5 bits/);
    // Without pairing there are no codes to guess.
    expect(() => checkConfig(load({ ...BASE, PAIRGATE_SUPPORT_MAX_SESSIONS: '100000' }), doors)).not.toThrow();
  });

  it('counts the guesses of a relay that is another server in the origin\'s budget (both keep their own miss counters)', () => {
    const split = { ...BASE, PLEXUS_PAIRING_URL: 'https://relay.example/pairing/' };
    // Each address gets its five misses per five minutes at the relay and again at the origin: 100
    // sessions were within the budget only with the origin's half counted.
    expect(() => checkConfig(load({ ...split, PAIRGATE_SUPPORT_MAX_SESSIONS: '100' }), doors)).toThrow(/PAIRGATE_SUPPORT_MAX_SESSIONS: codes of 30\.5 bits with up to 100 live for 600 s at 50 guesses\/s/);
    // A configuration written for an earlier version is told why and what to set.
    expect(() => checkConfig(load({ ...split, PAIRGATE_SUPPORT_MAX_SESSIONS: '100' }), doors)).toThrow(/PLEXUS_PAIRING_URL is a relay on another server .* so the guesses of both count\. At most 5\d sessions fit this budget: set PAIRGATE_SUPPORT_MAX_SESSIONS=5\d or less \(or leave it unset\)\.$/);
    // Its default for that set-up is within it (the seed's plexus.config starts as it is).
    expect(maxSessions(load(split))).toBe(50);
    expect(() => checkConfig(load(split), doors)).not.toThrow();
    // This server's own relay shares the origin's counters (one code space): 100 as before.
    const own = { ...BASE, PAIRGATE_PUBLIC_URL: 'https://support.example.com', PLEXUS_PAIRING_URL: 'https://support.example.com/relay/pairing/' };
    expect(publishesOnOwnRelay(load(own))).toBe(true);
    expect(maxSessions(load(own))).toBe(100);
    expect(() => checkConfig(load({ ...own, PAIRGATE_SUPPORT_MAX_SESSIONS: '100' }), doors)).not.toThrow();
    // The one-machine set-up without a public URL is its own relay too.
    expect(publishesOnOwnRelay(load({ ...BASE, PLEXUS_PAIRING_URL: 'http://127.0.0.1:8080/relay/pairing/' }))).toBe(true);
    // Its address with the relay turned off, or at another prefix, is another server.
    expect(publishesOnOwnRelay(load({ ...own, PAIRGATE_RELAY_ENABLED: 'false' }))).toBe(false);
    expect(publishesOnOwnRelay(load({ ...own, PAIRGATE_RELAY_PREFIX: '/pair' }))).toBe(false);
  });

  it('the relay\'s start-up warning says how a pairgate origin sends the API key it asks for', () => {
    const [warning] = supportRelayDoor.configWarnings!(load({}));
    expect(warning).toMatch(/PAIRGATE_RELAY_API_KEYS and give the keys to your origins, which send one with PAIRGATE_SUPPORT_RELAY_API_KEY/);
  });
});
