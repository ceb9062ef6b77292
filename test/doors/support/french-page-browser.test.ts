import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import { browserSkipReason, settledForDecision, watchProblems } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { ADMIN, selfRelayingOriginEnv } from './helpers.js';

const skip = browserSkipReason();
const NBSP = '\u00a0';
const AVATAR = 'https://avatars.example/thorsten.svg';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#1f5fd6"/></svg>';

/** Serves the avatar from the test itself: the browser never goes beyond loopback. */
async function routeAvatar(context: BrowserContext): Promise<void> {
  await context.route(/^https:\/\/avatars\.example\//, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }));
}

describe.skipIf(Boolean(skip))(`support pages in French in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  // One process serves the origin and, at /relay, the relay it publishes on (as page.test.ts).
  const suite = useBrowserApp(
    (url) => selfRelayingOriginEnv(url),
    {
      prepare: async (t) => {
        sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
      },
    },
  );

  it('the switch on the code page -> a wrong code said in French -> the confirmation page -> Confirmer -> the session page chats and ends in French', async () => {
    const created = await sdk.createSession({ id: 'browser-fr', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('browser-fr');
    const context = await suite.browser.newContext({ locale: 'en-US' });
    await routeAvatar(context);
    const page = await context.newPage();
    const problems = watchProblems(page);

    await page.goto(`${suite.url}/relay/`);
    expect(await page.locator('h1').textContent()).toBe('Remote support');
    await page.getByRole('link', { name: 'Français' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Assistance à distance');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');

    await page.getByLabel('Code d’appairage').fill('zzzzzz');
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect.poll(() => page.locator('#code-error').textContent()).toBe('Aucune session n’a ce code, ou il a expiré. Vérifiez le code, ou demandez-en un nouveau à votre assistant.');

    await page.getByLabel('Code d’appairage').fill(created.PairingCode!.toUpperCase());
    await page.getByRole('button', { name: 'Continuer' }).click();
    await page.waitForURL(`${suite.url}/pairing/${created.PairingCode}?lang=fr`);
    expect(await page.locator('h1').textContent()).toBe(`Autoriser l’accès${NBSP}?`);
    expect(await page.locator('#question').textContent()).toBe(`Voulez-vous vraiment donner accès à Thorsten de The great PC support${NBSP}?`);
    expect(await page.locator('#question-note').textContent()).toMatch(/Le code expire dans [89] minutes\.$/);
    // Focus starts on the heading (never a button: keyjacking), one Tab from the French Confirm, as on the English page.
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Confirmer');

    const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirmer' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('Session connectée. Votre assistant peut maintenant vous aider.');
    await connected;
    expect(await page.locator('h1').textContent()).toBe('Session d’assistance');
    // The credential has left the address bar; the chosen language stays in it.
    expect(page.url()).toBe(`${suite.url}/support/${created.AgentMSH.split('/config/')[1]!}?lang=fr`);

    supporter.say('Bonjour');
    await expect.poll(() => page.locator('#messages').textContent()).toBe(`Assistant${NBSP}: Bonjour`);
    const heard = supporter.next((e) => e.type === 'message');
    await page.getByLabel('Message').fill('Merci');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    expect(await heard).toMatchObject({ from: 'agent', text: 'Merci' });
    await expect.poll(() => page.locator('#messages li').allTextContents()).toEqual([`Assistant${NBSP}: Bonjour`, `Vous${NBSP}: Merci`]);

    // Another tab holds no key to the session; one whose key is wrong is refused by the channel.
    const other = await context.newPage();
    await other.goto(page.url());
    await expect.poll(() => other.locator('#status').textContent()).toBe(`Cet onglet n’a pas la clé de cette session. Revenez à l’onglet où vous l’avez confirmée${NBSP}; s’il est fermé, appelez votre assistant.`);
    await other.evaluate(`sessionStorage.setItem('pairgate.support.credential:/agent/${created.AgentMSH.split('/config/')[1]!}', 'wrong-key')`);
    await other.reload();
    await expect.poll(() => other.locator('#status').textContent(), { timeout: 10_000 }).toBe(`Cette page ne peut pas rejoindre la session${NBSP}: elle est terminée ou a expiré, ou la clé de cet onglet ne fonctionne plus. Si vous avez encore besoin d’aide, appelez votre assistant.`);
    await other.close();

    supporter.close();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(new RegExp(`^Votre assistant a quitté la session pour le moment\\. Il peut revenir jusqu’à \\S.*${NBSP}; gardez cette page ouverte pour l’attendre\\.$`));
    const again = await sdk.attach('browser-fr');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('Votre assistant est de retour. Il peut vous aider maintenant.');
    again.end();
    await expect.poll(() => page.locator('#status').textContent()).toBe('Votre assistant a terminé la session. Vous pouvez fermer cette page.');
    await page.reload();
    expect(await page.locator('h1').textContent()).toBe('Cette session d’assistance est terminée');
    // The switch leads back to English, on every page.
    await page.getByRole('link', { name: 'English' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('This support session has ended');

    expect(problems.filter((p) => /Content Security Policy|Refused/i.test(p))).toEqual([]);
    // The wrong code's and the ended session's 404s are logged by Chromium as failed resources; nothing else may appear.
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    await context.close();
  });

  it('a French browser (Accept-Language) gets the pages in French without choosing: Annuler declines', async () => {
    const created = await sdk.createSession({ id: 'browser-fr-no', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const context = await suite.browser.newContext({ locale: 'fr-FR' });
    await routeAvatar(context);
    const page = await context.newPage();
    await page.goto(`${suite.url}/relay/`);
    expect(await page.locator('h1').textContent()).toBe('Assistance à distance');
    await page.getByLabel('Code d’appairage').fill(created.PairingCode!);
    await page.getByRole('button', { name: 'Continuer' }).click();
    await page.waitForURL(`${suite.url}/pairing/${created.PairingCode}`);
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Annuler' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Refusé');
    expect(await page.locator('[role=status]').textContent()).toBe('Personne n’a reçu d’accès. Vous pouvez fermer cette page.');
    expect((await sdk.getSession('browser-fr-no')).State).toBe('declined');
    await page.goBack();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Ce code a été refusé');
    await context.close();
  });
});
