import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';

/** The home page's HTML over a real socket, asked with `headers`. */
async function home(base: string, path = '/', headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${base}${path}`, { headers });
  expect(response.status).toBe(200);
  return response.text();
}

/** The names of the home page's links to places, in order. */
function linkTitles(page: string): string[] {
  return [...page.matchAll(/<li><a href="[^"]+">([^<]+)<\/a>/g)].map((match) => match[1]!);
}

describe('home page in the visitor\'s language', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ tv: 'TV' }) });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('Accept-Language: fr gives every link and line in French, with no-break spaces before the colons', async () => {
    const page = await home(base, '/', { 'accept-language': 'fr-CA,fr;q=0.9,en;q=0.5' });
    expect(page).toContain('<html lang="fr">');
    expect(linkTitles(page)).toEqual(['Saisir un code d’assistance', 'Votre compte', 'Connecter un appareil', 'Intégrations de messagerie', 'Boîtiers sur votre réseau', 'Documentation de l’API']);
    expect(page).toContain('L’appairage avec l’accord d’une personne\u00a0: rien n’est connecté');
    expect(page).toContain('Quelqu’un au téléphone vous a donné un code\u00a0: saisissez-le');
    expect(page).toContain('Organisations\u00a0: configurez Mattermost ou un webhook signé');
    expect(page).not.toMatch(/ [:;?!]/);
    expect(page).not.toContain('Enter a support code');
  });

  it('?lang= wins over the browser, and the switch leads to the other language', async () => {
    const french = await home(base, '/?lang=fr', { 'accept-language': 'en' });
    expect(linkTitles(french)[0]).toBe('Saisir un code d’assistance');
    expect(french).toContain('<a href="/?lang=en" lang="en" hreflang="en">English</a>');
    // Its links are bare: the choice is remembered by the cookie ?lang= sets, not carried in each address.
    const hrefs = [...french.matchAll(/<li><a href="([^"]+)">/g)].map((match) => match[1]!);
    expect(hrefs).toHaveLength(6);
    expect(hrefs.filter((href) => href.includes('lang='))).toEqual([]);
    const english = await home(base);
    expect(english).toContain('<html lang="en">');
    expect(linkTitles(english)).toEqual(['Enter a support code', 'Your account', 'Connect a device', 'Chat integrations', 'Boxes on your network', 'API documentation']);
    expect(english).toContain('<a href="/?lang=fr" lang="fr" hreflang="fr">Français</a>');
  });
});
