import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERNAME_PATTERN, validateRegistration } from '../../../src/doors/accounts/users.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { DEVICE_ENV } from '../device/device-helpers.js';

/**
 * A user's API endpoint is `<base>/<username>/` (the access door's `/{username}/access-info`), so a
 * username that is also one of the server's own top-level paths reaches that route instead: an
 * account named `session` was answered by the support origin's Basic challenge. Every first path
 * segment the server serves, with every door on, that could be a username must be refused as one.
 */
describe('usernames the server\'s own paths take', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: 'support-password', PAIRGATE_DEVICE_ADMIN_TOKEN: 'admin-token-0123456789abcdefghijklm' });
  });
  afterAll(() => t.close());

  it('are refused at registration, whichever route a door adds', () => {
    // The tree's first level: "    ├── session (POST, GET, HEAD)", "    ├── mattermost/:id/install (POST)".
    const segments = new Set<string>();
    for (const line of t.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const first = /^ {4}[├└]── ([^/ (]+)/.exec(line)?.[1];
      if (first) segments.add(first);
    }
    expect([...segments]).toEqual(expect.arrayContaining(['session', 'support', 'mattermost', 'relay', 'device', 'healthz']));
    const couldBeUsernames = [...segments].filter((segment) => USERNAME_PATTERN.test(segment));
    expect(couldBeUsernames.length).toBeGreaterThan(10);
    for (const name of couldBeUsernames) {
      expect(() => validateRegistration({ username: name, email: `${name}@example.test`, password: 'long enough password' }), name).toThrow(/username/i);
    }
  });
});
