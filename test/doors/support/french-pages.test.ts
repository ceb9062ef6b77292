import { describe, expect, it } from 'vitest';
import { supportCatalogue } from '../../../src/doors/support/support-i18n.js';
import { useSupportServers } from './helpers.js';

const NBSP = '\u00a0';
const AVATAR = 'https://avatars.example/thorsten.png';
const HTML = { accept: 'text/html' };
const FR = { ...HTML, 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5' };

/** The text of `html` a person reads, as the page would escape it back: the apostrophes and quotes decoded, tags kept. */
function decoded(html: string): string {
  return html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/**
 * The English sentences of the support catalogue that `html` still shows (ignoring the few whose
 * French is the same word, such as "Message"): a French page must show none.
 */
function englishLeftIn(html: string): string[] {
  const en = supportCatalogue('en');
  const fr = supportCatalogue('fr');
  const text = decoded(html);
  return Object.entries(en)
    .filter(([key, sentence]) => sentence !== fr[key as keyof typeof fr])
    // Placeholders cut the sentence into pieces that are searched for alone.
    .flatMap(([, sentence]) => sentence.split(/\{\w+\}/).map((piece) => piece.trim()).filter((piece) => piece.length >= 8))
    // A whole word or sentence ("Continue" is not in "Continuer").
    .filter((piece) => new RegExp(`${piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}])`, 'u').test(text));
}

/** The `<h1>` of a page. */
function heading(html: string): string | undefined {
  return /<h1[^>]*>([^<]*)<\/h1>/.exec(decoded(html))?.[1];
}

describe('the support pages in French', () => {
  const servers = useSupportServers();

  /** A new session of the origin, and the code its supporter reads out. */
  async function newCode(id: string): Promise<{ code: string; ref: string }> {
    const created = await servers.sdk.createSession({ id, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    return { code: created.PairingCode!, ref: created.AgentMSH.split('/config/')[1]! };
  }

  /** The confirmation page of `code` (with `headers`, at `query`), and what its form posts with. */
  async function confirmPage(code: string, headers: Record<string, string>, query = '') {
    const page = await servers.origin.app.inject({ method: 'GET', url: `/pairing/${code}${query}`, headers });
    const cookie = /pg_csrf=[^;]+/.exec(String(page.headers['set-cookie']))![0];
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const post = (fields: string) => servers.origin.app.inject({
      method: 'POST',
      url: `/pairing/${code}/confirm`,
      headers: { ...headers, cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${token}&${fields}`,
    });
    return { page, post };
  }

  it('the relay\'s page, by Accept-Language: every sentence, the button and the switch to English', async () => {
    const shown = await servers.relay.app.inject({ method: 'GET', url: '/', headers: FR });
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('<html lang="fr">');
    expect(heading(shown.body)).toBe('Assistance à distance');
    expect(decoded(shown.body)).toContain('Votre assistant vous a donné au téléphone un code de six caractères. Saisissez-le ici.');
    expect(decoded(shown.body)).toContain('<label for="code">Code d’appairage</label>');
    expect(shown.body).toContain('<button type="submit">Continuer</button>');
    expect(decoded(shown.body)).toContain(`Vous préférez une application${NBSP}? Lancez <code id="join-command" tabindex="0">`);
    expect(shown.body).toContain('href="/?lang=en" lang="en" hreflang="en">English</a>');
    expect(englishLeftIn(shown.body)).toEqual([]);
    // Nothing asked with ?lang=: the form carries no language on, and English browsers still get English.
    expect(shown.body).not.toContain('name="lang"');
    const english = await servers.relay.app.inject({ method: 'GET', url: '/', headers: HTML });
    expect(heading(english.body)).toBe('Remote support');
    expect(english.body).toContain('href="/?lang=fr" lang="fr" hreflang="fr">Français</a>');
  });

  it('the relay\'s page, by ?lang=fr: a refused code (unknown, malformed) is said in French, and a known one leads to the origin\'s page in French', async () => {
    const shown = await servers.relay.app.inject({ method: 'GET', url: '/?lang=fr', headers: HTML });
    expect(heading(shown.body)).toBe('Assistance à distance');
    expect(shown.body).toContain('<input type="hidden" name="lang" value="fr">');

    const unknown = await servers.relay.app.inject({ method: 'GET', url: '/go?code=zzzzzz&lang=fr', headers: HTML });
    expect(unknown.statusCode).toBe(404);
    expect(decoded(unknown.body)).toContain('Aucune session n’a ce code, ou il a expiré. Vérifiez le code, ou demandez-en un nouveau à votre assistant.');
    expect(englishLeftIn(unknown.body)).toEqual([]);

    const malformed = await servers.relay.app.inject({ method: 'GET', url: '/go?code=ab&lang=fr', headers: HTML });
    expect(malformed.statusCode).toBe(400);
    expect(decoded(malformed.body)).toContain(`Ce n’est pas un code${NBSP}: un code a six lettres et chiffres.`);
    const empty = await servers.relay.app.inject({ method: 'GET', url: '/go?code=&lang=fr', headers: HTML });
    expect(decoded(empty.body)).toContain('Saisissez le code que votre assistant vous a donné au téléphone.');

    const { code } = await newCode('fr-relay');
    const found = await servers.relay.app.inject({ method: 'GET', url: `/go?code=${code}&lang=fr`, headers: HTML });
    expect(found.statusCode).toBe(302);
    expect(found.headers.location).toBe(`${servers.origin.url}/pairing/${code}?lang=fr`);
    // Without a chosen language the origin's address is the relay's as it always was.
    const plain = await servers.relay.app.inject({ method: 'GET', url: `/go?code=${code}`, headers: FR });
    expect(plain.headers.location).toBe(`${servers.origin.url}/pairing/${code}`);
  });

  it('the confirmation page, by Accept-Language and by ?lang=fr: question, note, buttons, logo and switch', async () => {
    const { code } = await newCode('fr-confirm');
    for (const [headers, query] of [[FR, ''], [HTML, '?lang=fr']] as const) {
      const { page } = await confirmPage(code, headers, query);
      expect(page.statusCode).toBe(200);
      const text = decoded(page.body);
      expect(page.body).toContain('<html lang="fr">');
      expect(heading(page.body)).toBe(`Autoriser l’accès${NBSP}?`);
      expect(text).toContain(`<title>Autoriser l’accès${NBSP}? · pairgate</title>`);
      expect(text).toContain(`<p id="question">Voulez-vous vraiment donner accès à Thorsten de The great PC support${NBSP}?</p>`);
      expect(text).toMatch(/Ne confirmez que si vous êtes au téléphone avec cette personne et lui avez demandé de l’aide\. Le code expire <time id="code-expiry" datetime="[^"]+">dans (9|10) minutes<\/time>\./);
      expect(text).toContain('alt="Logo de The great PC support"');
      expect(text).toMatch(/<button type="submit" name="decision" value="accept"[^>]*>Confirmer<\/button>/);
      expect(text).toContain('<button type="submit" name="decision" value="decline" class="secondary">Annuler</button>');
      expect(page.body).toContain(`href="/pairing/${code}?lang=en" lang="en" hreflang="en">English</a>`);
      expect(englishLeftIn(page.body)).toEqual([]);
      // Only a language asked for in the address is carried on by the form.
      expect(page.body.includes('<input type="hidden" name="lang" value="fr">')).toBe(query !== '');
    }
  });

  it('a refused code in French: unknown, declined (the page it leads to, and the code posted again), and the API stays English JSON', async () => {
    const never = await servers.origin.app.inject({ method: 'GET', url: '/pairing/zzzzzz', headers: FR });
    expect(never.statusCode).toBe(404);
    expect(heading(never.body)).toBe('Ce code ne fonctionne pas');
    expect(decoded(never.body)).toContain('Aucune session n’a ce code, ou il a expiré. Demandez un nouveau code à votre assistant.');
    expect(englishLeftIn(never.body)).toEqual([]);
    const malformed = await servers.origin.app.inject({ method: 'GET', url: '/pairing/a!', headers: FR });
    expect(malformed.statusCode).toBe(400);
    expect(decoded(malformed.body)).toContain('Ce n’est pas un code');

    const { code } = await newCode('fr-decline');
    const { post } = await confirmPage(code, HTML, '?lang=fr');
    const declined = await post('decision=decline&lang=fr');
    expect(declined.statusCode).toBe(303);
    expect(declined.headers.location).toBe('/support/declined?lang=fr');
    const page = await servers.origin.app.inject({ method: 'GET', url: '/support/declined?lang=fr', headers: HTML });
    expect(heading(page.body)).toBe('Refusé');
    expect(decoded(page.body)).toContain('Personne n’a reçu d’accès. Vous pouvez fermer cette page.');
    expect(page.body).toContain('href="/support/declined?lang=en"');
    const again = await post('decision=decline&lang=fr');
    expect(again.statusCode).toBe(404);
    expect(heading(again.body)).toBe('Ce code a été refusé');
    expect(decoded(again.body)).toContain(`Ce code a été refusé${NBSP}: personne n’a reçu d’accès`);
    expect(englishLeftIn(again.body)).toEqual([]);

    // Programs keep the machine code and the English message, whatever language they accept.
    const api = await servers.origin.app.inject({ method: 'GET', url: '/pairing/zzzzzz', headers: { 'accept-language': 'fr' } });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ Error: 'Not Found', Code: 'code_not_found', Description: 'Code not found' });
    expect(api.body).toContain('Code not found');
  });

  it('a refusal before the page (an address its schema refuses) is said in the language the page was asked in', async () => {
    const cases = [
      [servers.origin, `/pairing/${'a'.repeat(65)}?lang=fr`],
      [servers.origin, '/support/ab?lang=fr'],
    ] as const;
    for (const [server, url] of cases) {
      const refused = await server.app.inject({ method: 'GET', url, headers: HTML });
      expect(refused.statusCode).toBe(400);
      expect(heading(refused.body)).toBe('Ce lien ne fonctionne pas');
    }
    // What cannot be a code, typed in the relay's form, shows the form again with the refusal in French.
    for (const url of [`/go?code=${'a'.repeat(65)}&lang=fr`, '/go?code=abc&code=def&lang=fr']) {
      const refused = await servers.relay.app.inject({ method: 'GET', url, headers: HTML });
      expect(refused.statusCode).toBe(400);
      expect(heading(refused.body)).toBe('Assistance à distance');
      expect(decoded(refused.body)).toContain(`Ce n’est pas un code${NBSP}: un code a six lettres et chiffres.`);
    }
  });

  it('the session page and an ended or expired session in French; the script gets its words in French', async () => {
    const { code, ref } = await newCode('fr-session');
    const { post } = await confirmPage(code, FR);
    const confirmed = await post('decision=accept');
    expect(confirmed.statusCode).toBe(303);
    // Nothing asked with ?lang=: the address is as it was; Accept-Language picks the language.
    expect(confirmed.headers.location).toMatch(new RegExp(`^/support/${ref}#credential=`));
    const page = await servers.origin.app.inject({ method: 'GET', url: `/support/${ref}`, headers: FR });
    expect(page.statusCode).toBe(200);
    const text = decoded(page.body);
    expect(heading(page.body)).toBe('Session d’assistance');
    expect(text).toContain('<p>Avec <strong>Thorsten</strong> de The great PC support.</p>');
    // The status is the script's to fill ("Connexion…" is among its words): without JavaScript nothing connects.
    expect(text).toContain('<p id="status" role="status" aria-live="polite"></p>');
    expect(text).toContain('Cette page a besoin de JavaScript pour tenir la session avec votre assistant, et JavaScript est désactivé dans ce navigateur. Activez-le, puis rechargez cette page');
    expect(text).toContain('<label for="message">Message</label>');
    expect(text).toContain('>Envoyer</button>');
    expect(text).toContain('>Terminer la session</button>');
    expect(englishLeftIn(page.body)).toEqual([]);
    const words = JSON.parse(/data-words="([^"]*)"/.exec(page.body)![1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')) as Record<string, string>;
    expect(words.connected).toBe('Session connectée. Votre assistant peut maintenant vous aider.');
    expect(words.connecting).toBe('Connexion…');
    expect(words.says).toBe(`{who}${NBSP}: `);

    // A confirmation from a page asked in French leads to the session page in French.
    const second = await newCode('fr-session-asked');
    const asked = await (await confirmPage(second.code, HTML, '?lang=fr')).post('decision=accept&lang=fr');
    expect(asked.headers.location).toMatch(new RegExp(`^/support/${second.ref}\\?lang=fr#credential=`));

    // An ended, expired or never confirmed session: the same page, in French.
    for (const [url, headers] of [[`/support/fr-session:${'x'.repeat(20)}`, FR], [`/support/fr-session:${'x'.repeat(20)}?lang=fr`, HTML]] as const) {
      const ended = await servers.origin.app.inject({ method: 'GET', url, headers });
      expect(ended.statusCode).toBe(404);
      expect(heading(ended.body)).toBe('Cette session d’assistance est terminée');
      expect(decoded(ended.body)).toContain(`La session d’assistance est finie${NBSP}: elle a été terminée, ou elle a expiré.`);
      expect(englishLeftIn(ended.body)).toEqual([]);
    }
  });
});
