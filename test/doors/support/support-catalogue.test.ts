import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FRENCH_SPACE } from '../../../src/doors/accounts/french-spacing.js';
import { sessionScriptWords, supportCatalogue, supportTranslator } from '../../../src/doors/support/support-i18n.js';

/** A space a line may break at, before : ; ? ! » or after «: the mark would wrap alone. */
const BREAKABLE = /\s(?<!\u00a0)(?=[:;?!»])|«\s(?<!\u00a0)/u;
const SCRIPT = readFileSync(new URL('../../../src/web/static/support-session.js', import.meta.url), 'utf8');

describe('the support pages\' catalogue', () => {
  it('has a French message for every English key, and no key English lacks', () => {
    const en = supportCatalogue('en');
    const fr = supportCatalogue('fr');
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
    const empty = Object.entries(fr).filter(([, text]) => text.trim() === '').map(([key]) => key);
    expect(empty).toEqual([]);
    // Each French message keeps the placeholders of its English one.
    const placeholders = (text: string) => (text.match(/\{\w+\}/g) ?? []).sort();
    const mismatched = Object.keys(en).filter((key) => placeholders(en[key as keyof typeof en]).join() !== placeholders(fr[key as keyof typeof fr]).join());
    expect(mismatched).toEqual([]);
  });

  it('writes French with a no-break space (U+00A0) before : ; ? ! and inside « », never a breakable one', () => {
    const offending = Object.entries(supportCatalogue('fr')).filter(([, text]) => BREAKABLE.test(text)).map(([key, text]) => `${key}: ${JSON.stringify(text)}`);
    expect(offending).toEqual([]);
    expect(supportTranslator('fr')('confirm.title')).toBe(`Autoriser l’accès${FRENCH_SPACE}?`);
    expect(Object.values(supportCatalogue('fr')).join('')).not.toContain('\u202f');
    // The language switch comes from the shared catalogue.
    expect(supportTranslator('fr')('lang.other')).toBe('English');
    expect(supportTranslator('en')('lang.other')).toBe('Français');
  });

  it('gives the session page\'s script every word it says, in both languages', () => {
    const said = [...SCRIPT.matchAll(/say\('(\w+)'/g)].map((match) => match[1]!);
    const endedBy = [...(/ENDED_BY = \{([^}]*)\}/.exec(SCRIPT)?.[1] ?? '').matchAll(/'(\w+)'/g)].map((match) => match[1]!);
    const needed = [...new Set([...said, ...endedBy, 'you', 'supporter', 'connectedAlone', 'connected', 'otherTab', 'lost'])].sort();
    expect(said.length).toBeGreaterThan(5);
    for (const lang of ['en', 'fr'] as const) {
      const words = sessionScriptWords(lang);
      expect(needed.filter((key) => !words[key as keyof typeof words])).toEqual([]);
    }
    // The script holds no sentence of its own: every one it shows comes from the page.
    expect(SCRIPT).not.toMatch(/'(You|Your|The|This|Session) [a-z]/);
  });
});
