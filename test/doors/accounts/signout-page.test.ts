import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/**
 * `/account/signout` typed or followed as a link: a page with the sign-out button (a 404 before),
 * never a sign-out by itself, since any site can send a browser to an address.
 */
describe('GET /account/signout', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('offers the button without signing out; the button signs out', async () => {
    const client = new FormClient(base, { 'accept-language': 'fr' });
    await client.register('leaving-person');
    const page = await client.get('/account/signout');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<form method="post" action="\/account\/signout">\s*<input type="hidden" name="_csrf" value="[^"]+">/);
    expect(page.text).toContain('Connecté en tant que leaving-person');
    // Still signed in after the GET.
    expect((await client.get('/account/password')).status).toBe(200);

    // The button's form, without its token, signs nobody out; with it, it does.
    expect((await client.post('/account/signout', { _csrf: '' })).status).toBe(403);
    expect((await client.get('/account/password')).status).toBe(200);
    await client.get('/account/signout');
    const done = await client.post('/account/signout', {});
    expect(done.status).toBe(303);
    expect((await client.get('/account/password')).status).toBe(303);
  });

  it('sends a person who is not signed in to the sign-in page', async () => {
    const answer = await new FormClient(base).get('/account/signout');
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/account/signin');
  });
});
