import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** The language switch links of a page's HTML (their href, as written). */
function switchLinks(html: string): string[] {
  return [...html.matchAll(/<a href="([^"]*)" lang="(?:en|fr)" hreflang="(?:en|fr)">/g)].map((match) => match[1]!.replaceAll('&amp;', '&'));
}

describe('the language switch of a page answering a form', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
  });
  afterAll(() => t.close());

  /** A browser's cookie header and CSRF token, from the sign-in page. */
  async function formSession(): Promise<{ cookie: string; csrf: string }> {
    const page = await t.app.inject({ method: 'GET', url: '/account/signin?lang=fr' });
    return { cookie: page.cookies.map((c) => `${c.name}=${c.value}`).join('; '), csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]! };
  }

  it('a refused sign-in leads to the sign-in page in the other language, keeping the flow it was part of', async () => {
    const { cookie, csrf } = await formSession();
    const answer = await t.app.inject({
      method: 'POST',
      url: '/account/signin',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      payload: new URLSearchParams({ _csrf: csrf, lang: 'fr', login: 'nobody-here', password: 'not the password', next: '/account/password' }).toString(),
    });
    expect(answer.statusCode).toBe(401);
    expect(answer.body).toContain('<html lang="fr">');
    expect(switchLinks(answer.body)).toEqual(['/account/signin?next=%2Faccount%2Fpassword&lang=en']);
    const english = await t.app.inject({ method: 'GET', url: switchLinks(answer.body)[0]!, headers: { cookie } });
    expect(english.statusCode).toBe(200);
    expect(english.body).toContain('<html lang="en">');
    expect(english.body).toContain('name="next" value="/account/password"');
  });

  it('a form whose address serves no page switches to the page the form was sent from (revoke, refused for its token), never sending it again', async () => {
    const { cookie, csrf } = await formSession();
    const register = await t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      payload: new URLSearchParams({ _csrf: csrf, lang: 'fr', email: 'switch@example.test', username: 'switch-user', password: 'a long enough password' }).toString(),
    });
    const signedIn = [cookie, ...register.cookies.map((c) => `${c.name}=${c.value}`)].join('; ');
    const refused = await t.app.inject({
      method: 'POST',
      url: '/account/accesses/some-access-id/revoke',
      headers: { cookie: signedIn, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      payload: new URLSearchParams({ _csrf: 'not-the-token', lang: 'fr' }).toString(),
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('<html lang="fr">');
    expect(switchLinks(refused.body)).toEqual(['/account/accesses?lang=en']);
    const english = await t.app.inject({ method: 'GET', url: switchLinks(refused.body)[0]!, headers: { cookie: signedIn } });
    expect(english.statusCode).toBe(200);
    expect(english.body).toContain('<html lang="en">');
  });
});
