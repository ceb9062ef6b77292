import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest } from './form-client.js';

/**
 * The fields of an auth request that the pages show or speak in: `languageCode` must look like a
 * language tag (and the pages speak one they have, else the browser's, else English), and
 * `deviceName` is read as the app id is, trimmed, and refused when empty once trimmed. Each
 * optional field sent as null, as Pryv's clients send the ones they leave unset, means what
 * leaving it out means.
 */
describe('POST /access: languageCode, deviceName, and null for an optional field', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000', PAIRGATE_ACCESS_MAX_PENDING_PER_IP: '1000' });
  });
  afterAll(() => t.close());

  const create = (overrides: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/access', payload: authRequest(overrides) });

  /** The auth page the app's `url` leads to, opened by a browser without cookies sending `acceptLanguage`. */
  const pageLanguage = async (languageCode: string | null, acceptLanguage?: string): Promise<string | undefined> => {
    const created = await create({ languageCode });
    expect(created.statusCode, created.body).toBe(201);
    const url = new URL(created.json<{ url: string }>().url);
    const page = await t.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: acceptLanguage ? { 'accept-language': acceptLanguage } : {} });
    expect(page.statusCode).toBe(200);
    return /<html lang="([^"]+)">/.exec(page.body)?.[1];
  };

  for (const languageCode of ['zzzzz', 'e', 'english', 'en_US', 'en-USA', 'fr-', '-fr', '12', 'e1', 'en-1', 'fr CA', 'de-DE1']) {
    it(`languageCode ${JSON.stringify(languageCode)}: 400 invalid_language_code in Pryv's shape`, async () => {
      const response = await create({ languageCode });
      expect(response.statusCode).toBe(400);
      const body = response.json();
      expect(body).toMatchObject({ id: 'invalid_language_code', detail: { field: 'languageCode' }, error: { id: 'invalid_language_code' } });
      expect(body.message).toContain('languageCode must be a language tag');
      expect(body.message).toContain('en-US');
      expect(body.error.message).toBe(body.message);
    });
  }

  it('a language tag in any case is accepted and answered as sent, trimmed', async () => {
    for (const [sent, lang] of [['en', 'en'], ['FR', 'FR'], ['fr-CA', 'fr-CA'], ['pt-BR', 'pt-BR'], ['EN-us', 'EN-us'], ['fra', 'fra'], [' fr ', 'fr']]) {
      const response = await create({ languageCode: sent });
      expect(response.statusCode, `${sent}: ${response.body}`).toBe(201);
      expect(response.json().lang).toBe(lang);
      expect(new URL(response.json<{ url: string }>().url).searchParams.get('lang')).toBe(lang);
    }
  });

  it('no languageCode, or a blank one, is none: lang en, the page in the browser\'s language', async () => {
    for (const languageCode of [undefined, '', '   ']) {
      const response = await create({ languageCode });
      expect(response.statusCode).toBe(201);
      expect(response.json().lang).toBe('en');
    }
    expect(await pageLanguage('', 'fr-FR,fr;q=0.9')).toBe('fr');
  });

  it('a null languageCode is none, as Pryv reads it: lang en, an empty lang in url, the page in the browser\'s language', async () => {
    const response = await create({ languageCode: null });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json().lang).toBe('en');
    expect(new URL(response.json<{ url: string }>().url).searchParams.get('lang')).toBe('');
    expect(await pageLanguage(null, 'fr-FR,fr;q=0.9')).toBe('fr');
    expect(await pageLanguage(null)).toBe('en');
  });

  /** A NEED_SIGNIN answer with its key (also inside its URLs) replaced, so two requests' answers compare. */
  const keyless = (body: { key: string }): unknown => JSON.parse(JSON.stringify(body).replaceAll(body.key, '<key>'));

  // The optional fields of Pryv's auth request; its clients send the ones they leave unset as null.
  const optionalFields = ['languageCode', 'returnURL', 'oauthState', 'clientData', 'authUrl', 'serviceInfo', 'deviceName', 'referer', 'expireAfter'];

  for (const field of optionalFields) {
    it(`${field}: null is answered, kept and polled as if it were left out`, async () => {
      const sentNull = await create({ [field]: null });
      const leftOut = await create({ [field]: undefined });
      expect(sentNull.statusCode, sentNull.body).toBe(201);
      expect(leftOut.statusCode, leftOut.body).toBe(201);
      expect(keyless(sentNull.json())).toEqual(keyless(leftOut.json()));
      const poll = async (created: typeof sentNull) => {
        const answer = await t.app.inject({ method: 'GET', url: new URL(created.json<{ poll: string }>().poll).pathname });
        expect(answer.statusCode).toBe(201);
        return keyless({ ...answer.json(), key: created.json<{ key: string }>().key });
      };
      expect(await poll(sentNull)).toEqual(await poll(leftOut));
    });
  }

  it('every optional field null at once is a request with none of them', async () => {
    const sentNull = await create(Object.fromEntries(optionalFields.map((field) => [field, null])));
    const leftOut = await create(Object.fromEntries(optionalFields.map((field) => [field, undefined])));
    expect(sentNull.statusCode, sentNull.body).toBe(201);
    expect(keyless(sentNull.json())).toEqual(keyless(leftOut.json()));
  });

  it('the auth page speaks the language of the tag when the server has it, whatever its case or region', async () => {
    expect(await pageLanguage('fr', 'en')).toBe('fr');
    expect(await pageLanguage('FR', 'en')).toBe('fr');
    expect(await pageLanguage('fr-CA', 'en')).toBe('fr');
    expect(await pageLanguage('EN-gb', 'fr')).toBe('en');
  });

  it('a language the server lacks falls back to the browser\'s language, else English', async () => {
    expect(await pageLanguage('pt-BR')).toBe('en');
    expect(await pageLanguage('de', 'de-DE,de;q=0.9')).toBe('en');
    expect(await pageLanguage('de', 'de-CH,fr;q=0.8')).toBe('fr');
    // A 3-letter language is itself, not the 2-letter one it starts with: North Frisian is not French.
    expect(await pageLanguage('frr')).toBe('en');
    expect(await pageLanguage('eng', 'fr')).toBe('fr');
  });

  it('deviceName is trimmed, in the answer and in the poll', async () => {
    const response = await create({ deviceName: '  Laptop of Ana \t' });
    expect(response.statusCode).toBe(201);
    expect(response.json().deviceName).toBe('Laptop of Ana');
    const poll = await t.app.inject({ method: 'GET', url: new URL(response.json<{ poll: string }>().poll).pathname });
    expect(poll.json().deviceName).toBe('Laptop of Ana');
  });

  it('a deviceName empty once trimmed is refused, naming the field; null or none is no device name', async () => {
    for (const deviceName of ['', '   ', '\u00a0\u3000']) {
      const response = await create({ deviceName });
      expect(response.statusCode, JSON.stringify(deviceName)).toBe(400);
      const body = response.json();
      expect(body).toMatchObject({ id: 'validation_failed', detail: { field: 'deviceName' }, error: { id: 'validation_failed' } });
      expect(body.message).toContain('deviceName must not be empty');
    }
    for (const deviceName of [null, undefined]) {
      const response = await create({ deviceName });
      expect(response.statusCode).toBe(201);
      expect(response.json().deviceName).toBeNull();
    }
  });

  it('a deviceName is still refused for a control or text-direction character inside it', async () => {
    const response = await create({ deviceName: ' Laptop\u202e ' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ id: 'validation_failed', detail: { field: 'deviceName' } });
  });
});
