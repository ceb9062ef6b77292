import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { outboxMails } from '../access/outbox.js';

/** One e-mail address, one account, one mailbox: however its letters were typed, and whatever a mailer reads as syntax. */
describe('an account e-mail address', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const composed = 'jos\u00e9@example.test';
  const decomposed = 'jose\u0301@example.test';

  it('is the same account typed with a precomposed é or with e and a combining accent', async () => {
    expect(composed).not.toBe(decomposed);
    await new FormClient(base).register('jose-composed', 'correct horse battery', composed);

    const second = new FormClient(base);
    await second.get('/account/register');
    const taken = await second.post('/account/register', { username: 'jose-decomposed', email: decomposed, password: 'correct horse battery' });
    expect(taken.status).toBe(409);

    const signIn = await new FormClient(base).signIn(decomposed.toUpperCase(), 'correct horse battery');
    expect(signIn.status).toBe(303);
  });

  it('refuses addresses a mailer reads as a list or a name, which would mail the account elsewhere', async () => {
    for (const email of ['someone,victim@example.test', 'x;victim@example.test', '"me"<victim@example.test>', 'a\\b@example.test']) {
      const client = new FormClient(base);
      await client.get('/account/register');
      const refused = await client.post('/account/register', { username: 'list-address', email, password: 'correct horse battery' });
      expect(refused.status, email).toBe(400);
      expect(refused.text).toContain('The e-mail address is not valid.');
    }
  });

  it('mails a stored address that a mailer would read as a list to no one else', async () => {
    // An address stored before the check above was tightened.
    const accounts = accountsOf({ server: t.app });
    await accounts.parts.users.create({ username: 'old-list-address', email: 'old,victim@example.test', passwordHash: 'scrypt$x' }, Date.now());
    const client = new FormClient(base);
    await client.get('/account/reset');
    await client.post('/account/reset', { login: 'old-list-address' });
    await accounts.parts.afterAnswer.idle();
    const mail = outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1)!;
    const to = /^To: (.*)$/m.exec(mail)?.[1] ?? '';
    expect(to).not.toBe('victim@example.test');
    expect(to).toContain('"old,victim"@example.test');
  });
});
