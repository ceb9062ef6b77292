import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/** The line under the home page's "Your account" / "Votre compte" link, and where the link leads. */
function accountRow(page: string): { href: string; text: string } {
  const match = /<li><a href="([^"]+)">(?:Your account|Votre compte)<\/a><span class="muted">([^<]*)<\/span><\/li>/.exec(page);
  if (!match) throw new Error(`no account row on the home page: ${page.slice(0, 500)}`);
  return { href: match[1]!, text: match[2]! };
}

describe('home page: the account line speaks to who is reading it', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('signed out, it asks to sign in; signed in, it says so and leads to the account page, in English and French', async () => {
    const visitor = new FormClient(base);
    const out = accountRow((await visitor.get('/')).text);
    expect(out).toEqual({ href: '/account', text: 'Sign in to see and revoke the apps you gave access to.' });

    await visitor.register('home-reader');
    const signedIn = await visitor.get('/');
    expect(signedIn.headers.get('cache-control')).toBe('no-store');
    const row = accountRow(signedIn.text);
    expect(row.text).toBe('You are signed in as home-reader: see and revoke the apps you gave access to.');
    expect(row.text).not.toContain('Sign in');
    // The link leads to the account page itself, not to a sign-in.
    expect(row.href).toBe('/account');
    const to = await visitor.get(row.href);
    expect(to.status).toBe(303);
    expect(to.location).toBe('/account/accesses');
    const account = await visitor.get(to.location!);
    expect(account.status).toBe(200);
    expect(account.text).toContain('home-reader');

    const french = accountRow((await visitor.get('/?lang=fr')).text);
    expect(french.text).toBe('Vous êtes connecté en tant que home-reader\u00a0: voyez et révoquez les applications auxquelles vous avez donné accès.');

    // Signed out again, the invitation comes back.
    await visitor.post('/account/signout', {});
    expect(accountRow((await visitor.get('/?lang=en')).text).text).toBe('Sign in to see and revoke the apps you gave access to.');
  });
});
