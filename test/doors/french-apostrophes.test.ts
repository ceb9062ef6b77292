import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * French text writes its apostrophes typographically (’), everywhere: a page shows messages of
 * several catalogues at once (the navigation's, a door's, the error page's), and straight ones (')
 * beside typographic ones read as two hands on one page. Found in the source itself, so a door added
 * later is checked too: each `frenchCatalogue({...})` (a door's French messages), each
 * `withFrenchSpacing({...})` (words in every language, their `fr`) and every other `fr:` text (a
 * chat connector's words), read with TypeScript's parser so a message is its text, escapes resolved.
 */
const SRC = join(import.meta.dirname, '../../src');

/** The TypeScript files under `folder`. */
function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** A string literal's text, or undefined for any other expression. */
function textOf(node: ts.Node): string | undefined {
  return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) ? node.text : undefined;
}

/** The French messages of an object literal handed to `callee`: its values, or for `withFrenchSpacing` the `fr` of each. */
function frenchOf(callee: string, literal: ts.ObjectLiteralExpression): Record<string, string> {
  const messages: Record<string, string> = {};
  for (const property of literal.properties) {
    if (!ts.isPropertyAssignment(property)) continue;
    const key = property.name.getText();
    if (callee === 'frenchCatalogue') {
      const text = textOf(property.initializer);
      if (text !== undefined) messages[key] = text;
    } else if (ts.isObjectLiteralExpression(property.initializer)) {
      const fr = property.initializer.properties.find((inner) => ts.isPropertyAssignment(inner) && inner.name.getText() === 'fr');
      const text = fr && ts.isPropertyAssignment(fr) ? textOf(fr.initializer) : undefined;
      if (text !== undefined) messages[key] = text;
    }
  }
  return messages;
}

/** Every French catalogue in the source: where it is, and its messages by key. */
function frenchCatalogues(): { where: string; messages: Record<string, string> }[] {
  const found: { where: string; messages: Record<string, string> }[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    if (!/\b(frenchCatalogue|withFrenchSpacing)\s*(<[^>]*>)?\(\{/.test(text)) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && ['frenchCatalogue', 'withFrenchSpacing'].includes(node.expression.text)) {
        let argument = node.arguments[0];
        // `withFrenchSpacing({...} satisfies Record<string, Words>)`: the object inside.
        while (argument && (ts.isSatisfiesExpression(argument) || ts.isAsExpression(argument) || ts.isParenthesizedExpression(argument))) argument = argument.expression;
        if (argument && ts.isObjectLiteralExpression(argument)) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          found.push({ where: `${relative(SRC, file)}:${line + 1}`, messages: frenchOf(node.expression.text, argument) });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** Every string given to a property named `fr` in the source, where it is. */
function frenchProperties(): { where: string; text: string }[] {
  const found: { where: string; text: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    if (!/\bfr:/.test(text)) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAssignment(node) && node.name.getText() === 'fr') {
        const value = textOf(node.initializer);
        if (value !== undefined) found.push({ where: `${relative(SRC, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`, text: value });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** An apostrophe between two letters (l’organisation, n'est), typographic or straight. */
const CURLY = /(?<=\p{L})’(?=\p{L})/u;
const STRAIGHT = /(?<=\p{L})'(?=\p{L})/u;

/** Which apostrophes `messages` use, with a key of each as an example; a catalogue mixing them has both. */
function apostrophesOf(messages: Record<string, string>): { curly?: string; straight?: string } {
  const entries = Object.entries(messages);
  const curly = entries.find(([, text]) => CURLY.test(text))?.[0];
  const straight = entries.find(([, text]) => STRAIGHT.test(text))?.[0];
  return { ...(curly ? { curly } : {}), ...(straight ? { straight } : {}) };
}

describe('French apostrophes: typographic in every catalogue', () => {
  const catalogues = frenchCatalogues();

  it('finds the catalogues of the doors and of the error page', () => {
    const places = catalogues.map(({ where }) => where.replace(/:\d+$/, ''));
    for (const expected of ['doors/accounts/i18n.ts', 'doors/access/access-i18n.ts', 'doors/device/device-i18n.ts', 'doors/install/install-i18n.ts', 'doors/support/support-i18n.ts', 'web/error-page.ts']) {
      expect(places).toContain(expected);
    }
    for (const { where, messages } of catalogues) expect(Object.keys(messages).length, where).toBeGreaterThan(0);
  });

  it('no catalogue writes a straight (\') apostrophe', () => {
    const straight = catalogues.flatMap(({ where, messages }) => {
      const found = apostrophesOf(messages).straight;
      return found ? [`${where}: ' in ${found}`] : [];
    });
    expect(straight).toEqual([]);
  });

  it('no other French text (an `fr:` property anywhere) writes one', () => {
    const texts = frenchProperties();
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.filter(({ text }) => STRAIGHT.test(text)).map(({ where, text }) => `${where}: ${text}`)).toEqual([]);
  });

  it('tells a mixed catalogue from a consistent one', () => {
    expect(apostrophesOf({ a: 'l’organisation', b: 'n\'est pas' })).toEqual({ curly: 'a', straight: 'b' });
    expect(apostrophesOf({ a: 'l\'organisation', b: 'n\'est pas', c: '« help »' })).toEqual({ straight: 'a' });
    // A quote around a word is no apostrophe.
    expect(apostrophesOf({ a: 'tapez \'help\'', b: 'l’aide' })).toEqual({ curly: 'b' });
  });
});
