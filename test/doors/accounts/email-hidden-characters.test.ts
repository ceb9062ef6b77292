import { describe, expect, it } from 'vitest';
import { isPairgateError } from '../../../src/core/errors.js';
import { translator } from '../../../src/doors/accounts/i18n.js';
import { validateRegistration } from '../../../src/doors/accounts/users.js';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/**
 * An address that holds a character that shows as nothing or turns text around (`x\u200b@…`,
 * `x\u202e@…`) looks like another address, or like none: it was registered, and a person reading
 * it on a page or in a mail client saw something other than where the account's mail goes.
 */
const HIDDEN: Array<[string, string]> = [
  ['zero-width space', 'ali\u200bce@example.test'],
  ['zero-width joiner', 'ali\u200dce@example.test'],
  ['soft hyphen', 'ali\u00adce@example.test'],
  ['word joiner', 'ali\u2060ce@example.test'],
  ['byte order mark inside', 'ali\ufeffce@example.test'],
  ['right-to-left override', 'alice\u202e@example.test'],
  ['left-to-right embedding', '\u202aalice@example.test'],
  ['pop directional formatting', 'alice@example\u202c.test'],
  ['first strong isolate', 'alice@\u2068example.test'],
  ['pop directional isolate', 'alice\u2069@example.test'],
  ['right-to-left mark', 'alice\u200f@example.test'],
  ['Arabic letter mark', 'alice\u061c@example.test'],
  ['interlinear annotation (other Cf)', 'alice\ufff9@example.test'],
  ['tag character (other Cf)', 'alice\u{e0041}@example.test'],
  ['NUL', 'alice\u0000@example.test'],
  ['escape', 'alice\u001b@example.test'],
  ['C1 control', 'alice\u0085@example.test'],
];

/** Over HTTP, a few of each kind (registration is limited to 20 an hour per network; the check above takes every one). */
const OVER_HTTP = HIDDEN.filter(([what]) => ['zero-width space', 'right-to-left override', 'first strong isolate', 'tag character (other Cf)', 'NUL'].includes(what));

const RULE = /control, invisible or text-direction characters/;

describe('an e-mail address with hidden or text-direction characters', () => {
  it('is refused by the registration check: invalid_email on the email field, saying why', () => {
    for (const [what, email] of HIDDEN) {
      let thrown: unknown;
      try {
        validateRegistration({ username: 'hidden-char', email, password: 'correct horse battery' });
      } catch (error) {
        thrown = error;
      }
      expect(isPairgateError(thrown), what).toBe(true);
      if (!isPairgateError(thrown)) continue;
      expect([thrown.status, thrown.code, thrown.details?.field, thrown.details?.reason], what).toEqual([400, 'invalid_email', 'email', 'hidden_characters']);
      expect(thrown.message, what).toMatch(RULE);
    }
  });

  it('is said beside the other fields\' problems, each with its own words', () => {
    let thrown: unknown;
    try {
      validateRegistration({ username: 'x', email: 'ali\u200bce@example.test', password: 'short' });
    } catch (error) {
      thrown = error;
    }
    expect(isPairgateError(thrown) && thrown.code).toBe('invalid_email');
    if (!isPairgateError(thrown)) return;
    expect(thrown.message).toMatch(RULE);
    expect((thrown.details?.also as Array<{ field: string }>).map((problem) => problem.field)).toEqual(['username', 'password']);
  });

  it('says in its message what the form says', () => {
    let thrown: unknown;
    try {
      validateRegistration({ username: 'hidden-char', email: 'ali\u200bce@example.test', password: 'correct horse battery' });
    } catch (error) {
      thrown = error;
    }
    expect(isPairgateError(thrown) && thrown.message).toBe(translator('en')('error.invalid_email.hidden_characters'));
  });

  it('leaves addresses in other scripts and with accents alone', () => {
    for (const email of ['josé@example.test', 'jose\u0301@example.test', 'почта@пример.рф', 'user+tag@example.test']) {
      expect(() => validateRegistration({ username: 'plain-name', email, password: 'correct horse battery' }), email).not.toThrow();
    }
  });
});

describe('registering with such an address', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('is a 400 on the form, which says why in the page\'s language and marks the field', async () => {
    for (const [what, email] of OVER_HTTP) {
      const client = new FormClient(server.base);
      await client.get('/account/register');
      const refused = await client.post('/account/register', { username: 'hidden-form', email, password: 'correct horse battery' });
      expect(refused.status, what).toBe(400);
      expect(refused.text, what).toContain('The e-mail address must not contain control, invisible or text-direction characters');
      expect(refused.text, what).toMatch(/id="email"[^>]*aria-invalid="true"/);
    }
    const french = new FormClient(server.base, { 'accept-language': 'fr' });
    await french.get('/account/register');
    const refused = await french.post('/account/register', { username: 'hidden-form', email: 'alice\u202e@example.test', password: 'correct horse battery' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('L’adresse e-mail ne doit pas contenir de caractères de contrôle, invisibles ou de sens du texte');
  });

  it('is a 400 for a JSON body too, and no account is made', async () => {
    for (const [what, email] of OVER_HTTP) {
      const client = new FormClient(server.base);
      await client.get('/account/register');
      const response = await fetch(`${server.base}/account/register`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json', cookie: [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
        body: JSON.stringify({ _csrf: client.lastCsrf, username: 'hidden-json', email, password: 'correct horse battery' }),
      });
      expect(response.status, what).toBe(400);
      expect(await response.text(), what).toContain('The e-mail address must not contain control, invisible or text-direction characters');
    }
    // None of them was stored: the plain name is still free.
    await new FormClient(server.base).register('hidden-json', 'correct horse battery', 'hidden-json@example.test');
  });
});
