import { describe, expect, it } from 'vitest';
import { doorTranslator, translator } from '../../../src/doors/accounts/i18n.js';
import { deviceTranslator } from '../../../src/doors/device/device-i18n.js';

/**
 * A message key is sometimes made from a request (the integrations page's `?done=`): the names of
 * an object's inherited members find no message and come back as themselves, as any unknown key.
 * They found a function, which the placeholder filling then called `replace` on: a 500.
 */
describe('translators and keys no catalogue holds', () => {
  const inherited = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

  it('say an inherited member\'s name as the key itself, in both languages', () => {
    for (const lang of ['en', 'fr'] as const) {
      for (const key of inherited) expect(translator(lang)(key), `${lang} ${key}`).toBe(key);
    }
  });

  it('do so through a door\'s translator too, which still finds its own and the shared messages', () => {
    const t = doorTranslator({ en: { 'door.hello': 'Hello {name}' }, fr: { 'door.hello': 'Bonjour {name}' } }, 'fr');
    expect(t('door.hello', { name: 'Ada' })).toBe('Bonjour Ada');
    for (const key of inherited) expect(t(key)).toBe(key);
    const device = deviceTranslator('en');
    for (const key of inherited) expect(device(key)).toBe(key);
  });
});
