import { waitWords } from '../../../src/web/duration-words.js';
import { describe, expect, it } from 'vitest';
import { FRENCH_SPACE, frenchSpacing } from '../../../src/doors/accounts/french-spacing.js';
import { catalogue, translator } from '../../../src/doors/accounts/i18n.js';
import { deviceCatalogue, deviceTranslator } from '../../../src/doors/device/device-i18n.js';

/** A space a line may break at, before : ; ? ! » or after «: the mark would wrap alone. */
const BREAKABLE = /\s(?<!\u00a0)(?=[:;?!»])|«\s(?<!\u00a0)/u;

describe('French typography of the account and device messages', () => {
  const catalogues = { accounts: catalogue('fr'), device: deviceCatalogue('fr') };

  for (const [name, messages] of Object.entries(catalogues)) {
    it(`no ${name} message has a breakable space before : ; ? ! » or after «`, () => {
      const offending = Object.entries(messages).filter(([, text]) => BREAKABLE.test(text)).map(([key, text]) => `${key}: ${JSON.stringify(text)}`);
      expect(offending).toEqual([]);
    });
  }

  it('uses one no-break space, U+00A0, where the marks need one', () => {
    expect(translator('fr')('consent.asks', { app: 'Demo' })).toBe(`Demo demande un accès à votre compte, pour${FRENCH_SPACE}:`);
    expect(translator('fr')('consent.title')).toBe(`Autoriser l’accès${FRENCH_SPACE}?`);
    expect(translator('fr')('perm.tag', { tag: 'santé' })).toBe(`les données marquées «${FRENCH_SPACE}santé${FRENCH_SPACE}»`);
    expect(deviceTranslator('fr')('device.consentTitle', { client: 'TV' })).toBe(`Connecter TV${FRENCH_SPACE}?`);
    expect(deviceTranslator('fr')('device.code_wrong_length', { length: 4 })).toContain(`tiret${FRENCH_SPACE}; celui-ci`);
    // The narrow no-break space is never mixed in.
    for (const messages of Object.values(catalogues)) expect(Object.values(messages).join('')).not.toContain('\u202f');
  });

  it('changes only the spaces before the marks: a value filled in later keeps its own', () => {
    expect(frenchSpacing('a : b ; c ? d ! « e » f-g')).toBe('a\u00a0: b\u00a0; c\u00a0? d\u00a0! «\u00a0e\u00a0» f-g');
    expect(frenchSpacing('http://x.example/a?b')).toBe('http://x.example/a?b');
    // Placeholders are filled after the catalogue is made: a device named "TV ?" is shown as typed.
    expect(deviceTranslator('fr')('device.approved', { client: 'TV ?' })).toBe('TV ? est connecté. Vous pouvez revenir à votre appareil.');
  });
});

describe('wording of the device pages', () => {
  it('says an ellipsis with its own character, and asks to sign in without "connect" twice in French', () => {
    for (const lang of ['en', 'fr'] as const) {
      for (const messages of [catalogue(lang), deviceCatalogue(lang)]) expect(Object.values(messages).filter((text) => text.includes('...'))).toEqual([]);
    }
    expect(deviceTranslator('fr')('device.signinIntro', { client: 'pairgate CLI' })).toBe('Connectez-vous pour autoriser pairgate CLI.');
  });
});

describe('the device page\'s wait in words', () => {
  it('says the wait the shared helper put in words', () => {
    expect(deviceTranslator('en')('device.limited', { wait: waitWords(300, 'en', 'minute') })).toBe('Too many wrong codes. Try again in 5 minutes.');
    expect(deviceTranslator('fr')('device.limited', { wait: waitWords(3600, 'fr', 'minute') })).toBe('Trop de codes erronés. Réessayez dans 60 minutes.');
    expect(deviceTranslator('en')('device.limited', { wait: waitWords(60, 'en', 'minute') })).toBe('Too many wrong codes. Try again in a minute.');
    expect(deviceTranslator('fr')('device.limited', { wait: 'une minute' })).toBe('Trop de codes erronés. Réessayez dans une minute.');
  });
});
