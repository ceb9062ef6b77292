import { describe, expect, it } from 'vitest';
import { safeNext } from '../../../src/doors/accounts/accounts.js';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from './form-client.js';

/**
 * `next` of the sign-in and registration forms: a local path, never another site. Dot segments
 * are resolved the way a browser resolves them, so `/.//evil` (which becomes `//evil`, a
 * protocol-relative URL to evil) must not get through.
 */
const EVIL = ['/.//evil.example/', '/%2e//evil.example/', '/%2E%2E//evil.example/x', '/a/..//evil.example', '/./%2F/evil.example', '/.\\/evil.example'];

/** Where a Location header leads from this server (a browser's reading). */
const leadsTo = (location: string | null, base: string): string => new URL(location ?? '', base).origin;

describe('sign-in and registration redirects', () => {
  it('safeNext never yields a path a browser reads as another host', () => {
    for (const next of EVIL) {
      const target = safeNext(next, '/fallback');
      expect(new URL(target, 'http://pairgate.example').origin, next).toBe('http://pairgate.example');
    }
    expect(safeNext('/access/auth?key=abc&lang=fr')).toBe('/access/auth?key=abc&lang=fr');
  });

  describe('over real sockets', () => {
    const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

    it('a sign-in with a crafted next stays on this server', async () => {
      const { base } = server;
      const owner = new FormClient(base);
      await owner.register('redirect-user', 'the right password');
      for (const next of EVIL) {
        const client = new FormClient(base);
        await client.get(`/account/signin?next=${encodeURIComponent(next)}`);
        const answer = await client.post('/account/signin', { login: 'redirect-user', password: 'the right password', next });
        expect(answer.status, next).toBe(303);
        expect(leadsTo(answer.location, base), `${next} -> ${answer.location}`).toBe(base);
      }
    });

    it('a registration with a crafted next stays on this server', async () => {
      const { base } = server;
      let n = 0;
      for (const next of EVIL) {
        const client = new FormClient(base);
        await client.get('/account/register');
        const answer = await client.post('/account/register', { username: `redirect-new-${n}`, email: `redirect-new-${n++}@example.test`, password: 'the right password', next });
        expect(answer.status, next).toBe(303);
        expect(leadsTo(answer.location, base), `${next} -> ${answer.location}`).toBe(base);
      }
    });
  });
});
