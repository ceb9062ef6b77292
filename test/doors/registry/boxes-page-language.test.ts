import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { signAnnouncement } from '../../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

/** Two "networks": one with a box behind it, one without. */
const HOME = '127.0.0.1';
const EMPTY = '127.0.0.2';

describe('the boxes page in the visitor\'s language', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '10000' });
    base = await t.listen();
    const kitchen = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-boxes-lang-')), 'kitchen'), { name: 'kitchen' });
    const raw = JSON.stringify({ client: kitchen.fingerprint, message: JSON.stringify({ local_origin: 'https://192.168.1.20', tunnel_origin: 'https://kitchen.example.test' }) });
    const authorization = await signAnnouncement(kitchen, raw, { now: Date.now() });
    expect((await httpFrom(HOME, `${base}/register`, { method: 'POST', body: raw, headers: { authorization } })).status).toBeLessThan(300);
  });
  afterAll(() => t.close());

  it('in French: the title, the count, the links and an unnamed box, with the switch back to English', async () => {
    const page = await httpFrom(HOME, `${base}/boxes`, { headers: { 'accept-language': 'fr' } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html lang="fr">');
    expect(page.text).toContain('<title>Boîtiers sur votre réseau · pairgate</title>');
    expect(page.text).toContain('<h1>Boîtiers sur votre réseau</h1>');
    expect(page.text).toContain('1 boîtier annoncé derrière votre adresse publique (127.0.0.1).');
    expect(page.text).toContain('>Se connecter (local)</a>');
    expect(page.text).toContain('>Se connecter (tunnel)</a>');
    expect(page.text).toMatch(/<strong><bdi>Boîtier [0-9a-z]{8}<\/bdi><\/strong>/);
    // The fingerprint named in words on the page, not in a tooltip a phone never shows, and what to do with it.
    expect(page.text).toMatch(/<span class="muted">Empreinte<\/span> <code>[0-9a-z]{52}<\/code>/);
    expect(page.text).toContain('L’empreinte d’un boîtier est son identité');
    expect(page.text).toContain('<a href="/boxes?lang=en" lang="en" hreflang="en">English</a>');
    expect(page.text).not.toMatch(/Connect|Boxes on|announced/);
  });

  it('in French with no box: how long it looked back, in words', async () => {
    const page = await httpFrom(EMPTY, `${base}/boxes?lang=fr`);
    expect(page.text).toContain('Aucun boîtier ne s’est annoncé derrière votre adresse publique (127.0.0.2) ces dernières 120 secondes.');
    expect(page.text).toContain('Vérifiez que le boîtier est allumé et connecté, puis rechargez cette page.');
  });

  it('in English by default, as before', async () => {
    const page = await httpFrom(HOME, `${base}/boxes`);
    expect(page.text).toContain('<h1>Boxes on your network</h1>');
    expect(page.text).toContain('1 box announced behind your public address (127.0.0.1).');
    expect(page.text).toContain('>Connect (local)</a>');
    const empty = await httpFrom(EMPTY, `${base}/boxes`);
    expect(empty.text).toContain('No box has announced itself behind your public address (127.0.0.2) in the last 120 seconds.');
    expect(empty.text).toContain('<a href="/boxes?lang=fr" lang="fr" hreflang="fr">Français</a>');
  });
});
