import { describe, expect, it } from 'vitest';
import { ForbiddenError, isPairgateError, NotFoundError, UnavailableError } from '../../../src/core/errors.js';
import { transition } from '../../../src/core/grant-machine.js';
import { publishOnRelay } from '../../../src/doors/support/relay-client.js';
import { codeRefusalText, codeRefusalTitle, supportCatalogue } from '../../../src/doors/support/support-i18n.js';
import type { TestApp } from '../../helpers/app.js';
import { postgresMissing } from '../../helpers/services.js';
import { ADMIN, freePort, useSupportServers, useTwoOriginNodes } from './helpers.js';
import { SupportOriginClient } from '../../../src/sdk/support.js';

const pgMissing = await postgresMissing();

const HTML = { accept: 'text/html' };
const FR = { ...HTML, 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5' };
const fr = supportCatalogue('fr');
const en = supportCatalogue('en');

/** The text of `html` a person reads, the apostrophes and quotes decoded. */
function decoded(html: string): string {
  return html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The `<h1>` and the alert of an error page. */
function said(html: string): { title?: string; message?: string } {
  const text = decoded(html);
  return { title: /<h1>([^<]*)<\/h1>/.exec(text)?.[1], message: /<p role="alert">([^<]*)<\/p>/.exec(text)?.[1] };
}

describe('the support pages\' refusals the pages did not map, in French', () => {
  const servers = useSupportServers();

  it('a confirmation sent as another media type (415) is said in French by Accept-Language and by ?lang=fr', async () => {
    const created = await servers.sdk.createSession({ id: 'fr-415', supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/t.png' });
    for (const [url, headers] of [[`/pairing/${created.PairingCode!}/confirm`, FR], [`/pairing/${created.PairingCode!}/confirm?lang=fr`, HTML]] as const) {
      const refused = await servers.origin.app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'text/plain' }, payload: 'decision=accept' });
      expect(refused.statusCode).toBe(415);
      expect(refused.body).toContain('<html lang="fr">');
      expect(said(refused.body)).toEqual({
        title: 'Ce formulaire a été envoyé d’une façon que cette page n’accepte pas',
        message: 'Cette page n’accepte que son propre formulaire. Rechargez la page et envoyez le formulaire depuis celle-ci.',
      });
      expect(refused.body).not.toContain('Confirm with a JSON body');
    }
  });
});

describe.skipIf(pgMissing)('a code answered at the same moment on two nodes (two tabs, a double press behind a load balancer), in French', () => {
  const nodes = useTwoOriginNodes(false);

  /** The confirmation page of `code` on `node`, and its form's post. */
  async function confirmForm(node: TestApp, code: string) {
    const page = await node.app.inject({ method: 'GET', url: `/pairing/${code}`, headers: FR });
    const cookie = /pg_csrf=[^;]+/.exec(String(page.headers['set-cookie']))![0];
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    return () => node.app.inject({
      method: 'POST',
      url: `/pairing/${code}/confirm`,
      headers: { ...FR, cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${token}&decision=accept`,
    });
  }

  it('one leads to the session; the other is told in French that the code was answered elsewhere, never the state machine\'s English', async () => {
    const sdk = new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN });
    let raced = 0;
    for (let round = 0; round < 10 && raced === 0; round++) {
      const created = await sdk.createSession({ id: `fr-race-${round}`, supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/t.png' });
      const posts = [await confirmForm(nodes.a, created.PairingCode!), await confirmForm(nodes.b, created.PairingCode!)];
      const answers = await Promise.all(posts.map((post) => post()));
      expect(answers.filter((answer) => answer.statusCode === 303)).toHaveLength(1);
      for (const answer of answers.filter((one) => one.statusCode !== 303)) {
        expect(answer.body).toContain('<html lang="fr">');
        expect(answer.body).not.toMatch(/This request is|cannot be approved/);
        if (answer.statusCode !== 409) continue;
        raced++;
        expect(said(answer.body)).toEqual({ title: fr['code.usedTitle'], message: fr['code.answeredMeanwhile'] });
      }
    }
    // Sent at once to two nodes, some round finds the code on both before either spends it.
    expect(raced).toBeGreaterThan(0);
  });
});

describe('codeRefusalText and codeRefusalTitle', () => {
  it('say the relay being unreachable (a real refused connection to a closed local port) as server trouble, never the relay client\'s English', async () => {
    const port = await freePort();
    const failure = await publishOnRelay(`http://127.0.0.1:${port}/pairing/`, 'http://127.0.0.1:1/pairing', { timeoutMs: 2_000 }).then(() => undefined, (error: unknown) => error);
    expect(isPairgateError(failure) && failure.code).toBe('relay_unreachable');
    if (!isPairgateError(failure)) throw new Error('no refusal');
    expect(failure.status).toBe(502);
    expect(codeRefusalText(failure, 'fr')).toBe(fr['code.serverTrouble']);
    expect(codeRefusalTitle(failure, 'fr')).toBe(fr['code.serverTroubleTitle']);
    expect(codeRefusalText(failure, 'en')).toBe(en['code.serverTrouble']);
    expect(codeRefusalText(failure, 'fr', 'relay.notFound')).not.toContain('ECONNREFUSED');
  });

  it('say each refusal a decision can meet in the page\'s language, in French and English', () => {
    const now = Date.now();
    const thrown = (act: () => unknown): Error => {
      try {
        act();
      } catch (error) {
        return error as Error;
      }
      throw new Error('nothing thrown');
    };
    const cases = [
      // Answered meanwhile elsewhere: the state machine's own refusals of a second decision.
      [thrown(() => transition({ state: 'approved', expiresAt: now + 60_000 }, 'approve', now)), 'code.answeredMeanwhile', 'code.usedTitle'],
      [thrown(() => transition({ state: 'refused', expiresAt: now + 60_000 }, 'approve', now)), 'code.answeredMeanwhile', 'code.usedTitle'],
      // Expired, or gone (the supporter deleted the session), while being answered.
      [thrown(() => transition({ state: 'pending', expiresAt: now - 1 }, 'approve', now)), 'code.notFound', 'code.notWorking'],
      [new NotFoundError('This request does not exist or has expired.', 'grant_not_found'), 'code.notFound', 'code.notWorking'],
      // A store too busy to settle a change, or down.
      [new UnavailableError('The request is being changed by someone else; try again.', 'grant_busy'), 'code.serverTrouble', 'code.serverTroubleTitle'],
      [new UnavailableError(), 'code.serverTrouble', 'code.serverTroubleTitle'],
      // Anything else a page could meet one day: general words, never the English message.
      [new ForbiddenError('The session was declined; nobody was given access.', 'declined'), 'code.refused', 'code.notWorking'],
    ] as const;
    for (const [error, message, title] of cases) {
      if (!isPairgateError(error)) throw error;
      expect([error.code, codeRefusalText(error, 'fr'), codeRefusalTitle(error, 'fr')]).toEqual([error.code, fr[message], fr[title]]);
      expect([error.code, codeRefusalText(error, 'en'), codeRefusalTitle(error, 'en')]).toEqual([error.code, en[message], en[title]]);
    }
    // The relay's page asks to check the code too when it is not found.
    expect(codeRefusalText(cases[3][0] as NotFoundError, 'fr', 'relay.notFound')).toBe(fr['relay.notFound']);
  });
});
