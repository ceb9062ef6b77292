import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest } from '../access/form-client.js';
import { ADMIN, ADMIN_AUTH } from '../support/helpers.js';

/**
 * A bad `?wait=` on the long-polls of the access and support doors is refused as on the grants
 * door (wait-values.test.ts): 400 `invalid_wait` with one message, in the door's own error shape,
 * whether the route's schema refuses it (`abc`, `-1`, an empty `?wait=`) or lets it through as a
 * number that is none (`Infinity`, `1e400`), and on the support door also where the wait would not
 * be read (a session that expired, answered at once).
 */
const MESSAGE = 'wait must be a number of seconds written in decimal digits (wait=30, or wait=2.5).';
const BAD_WAITS = ['NaN', 'Infinity', '-Infinity', '1e400', '-1', 'abc', '1s', '0x', ''];

describe('bad ?wait= values on the access and support doors\' long-polls', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.now());
  let poll: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PLEXUS_AUTH_USER: ADMIN.user, PLEXUS_AUTH_PASS: ADMIN.password }, { clock });
    const created = await t.app.inject({ method: 'POST', url: '/access', payload: authRequest() });
    poll = new URL(created.json<{ poll: string }>().poll).pathname;
    for (const id of ['waits', 'expiring']) {
      const session = await t.app.inject({ method: 'POST', url: '/session', headers: { authorization: ADMIN_AUTH }, payload: { id, ttl: id === 'expiring' ? 10 : 3600 } });
      expect(session.statusCode, session.body).toBe(201);
    }
  });
  afterAll(() => t.close());

  const getSession = (id: string, query: string) => t.app.inject({ method: 'GET', url: `/session/${id}${query}`, headers: { authorization: ADMIN_AUTH } });

  for (const wait of BAD_WAITS) {
    it(`GET /access/:key?wait=${wait}: 400 invalid_wait in Pryv's shape`, async () => {
      const response = await t.app.inject({ method: 'GET', url: `${poll}?wait=${encodeURIComponent(wait)}` });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ id: 'invalid_wait', message: MESSAGE, error: { id: 'invalid_wait', message: MESSAGE } });
    });

    it(`GET /session/:id?wait=${wait}: 400 invalid_wait in Plexus's shape`, async () => {
      const response = await getSession('waits', `?wait=${encodeURIComponent(wait)}`);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ Error: 'Bad Request', Description: MESSAGE, Code: 'invalid_wait' });
    });
  }

  it('a wait given twice is refused the same way on both', async () => {
    expect((await t.app.inject({ method: 'GET', url: `${poll}?wait=1&wait=2` })).json()).toMatchObject({ id: 'invalid_wait' });
    expect((await getSession('waits', '?wait=1&wait=2')).json()).toMatchObject({ Code: 'invalid_wait' });
  });

  it('good waits still answer; other bad query fields stay validation_failed', async () => {
    for (const wait of ['0', '0.5']) {
      expect((await t.app.inject({ method: 'GET', url: `${poll}?wait=${wait}` })).statusCode).toBe(201);
      const session = await getSession('waits', `?wait=${wait}`);
      expect(session.statusCode).toBe(200);
      expect(session.json().State).toBe('waiting');
    }
    expect((await getSession('waits', '?since=-1')).json()).toMatchObject({ Code: 'validation_failed' });
  });

  it('an empty ?wait= is refused as invalid_wait on the grants door too, as documented', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'empty wait' } });
    const response = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${created.json<{ id: string }>().id}?wait=` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_wait', message: MESSAGE });
  });

  it('an expired session is answered at once whatever a good wait says, and a bad wait is still refused', async () => {
    clock.advance(11_000);
    const started = Date.now();
    const expired = await getSession('expiring', '?wait=30');
    expect(expired.statusCode).toBe(200);
    expect(expired.json().State).toBe('expired');
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const wait of ['Infinity', '1e400', 'abc']) {
      const response = await getSession('expiring', `?wait=${wait}`);
      expect(response.statusCode, wait).toBe(400);
      expect(response.json()).toEqual({ Error: 'Bad Request', Description: MESSAGE, Code: 'invalid_wait' });
    }
  });
});
