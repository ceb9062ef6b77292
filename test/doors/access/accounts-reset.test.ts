import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from './form-client.js';

/** The mails in the outbox folder (no SMTP configured). */
function outboxMails(dataDir: string): string[] {
  try {
    return readdirSync(join(dataDir, 'outbox')).map((name) => readFileSync(join(dataDir, 'outbox', name), 'utf8'));
  } catch {
    return [];
  }
}

describe('password reset requests', () => {
  // Each simulated person comes from a network of their own (the server trusts the loopback proxy),
  // so the per-address rate limit of the reset form never interferes.
  let nextNetwork = 1;
  const newClient = () => new FormClient(base, { 'x-forwarded-for': `10.1.${Math.floor(nextNetwork / 250)}.${(nextNetwork++ % 250) + 1}` });
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_RESET_MAILS_PER_HOUR: '2' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const work = () => accountsOf({ server: t.app }).parts.afterAnswer;
  const mailsTo = (address: string) => outboxMails(t.config.PAIRGATE_DATA_DIR).filter((mail) => mail.includes(`To: ${address}`)).length;
  const resetRows = async () => Number((await t.app.pairgate.stores.db.selectFrom('password_resets').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const sentText = (text: string) => /role="status" class="ok">([^<]+)</.exec(text)?.[1];
  /** Everything a reset request's work leaves behind: reset tokens, mails, reset-mail budgets. */
  const traces = async () => ({
    tokens: await resetRows(),
    mails: outboxMails(t.config.PAIRGATE_DATA_DIR).length,
    budgets: (await t.app.pairgate.stores.ephemeral.list('reset:', clock.now())).length,
  });
  const askReset = async (login: string, client = newClient()) => {
    await client.get('/account/reset');
    return client.post('/account/reset', { login });
  };

  it('answers before doing any work, with the same answer whether the account exists', async () => {
    await newClient().register('quiet-user', 'the right password', 'quiet@example.test');
    // Hold the queue with a job of our own: the requests' work waits behind it. An answer that
    // waited for its work would never come; what exists when the answers arrive was done before.
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    expect(work().enqueue(() => held)).toBe(true);
    const before = await traces();
    try {
      const asker = newClient();
      const known = await askReset('quiet-user', asker);
      const unknown = await askReset('nobody-quiet', asker);
      expect(known.status).toBe(200);
      expect(unknown.status).toBe(200);
      expect(sentText(known.text)).toBeDefined();
      expect(unknown.text).toBe(known.text); // the same browser: even the CSRF token is the same

      // The work done before answering: no token, no mail, no budget counted, for the account
      // that exists or not; and one job queued by each answer (once its response closed).
      expect(await traces()).toEqual(before);
      for (let turn = 0; turn < 100 && work().queued < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(work().queued).toBe(3);
    } finally {
      release();
    }
    await work().idle();
    expect(await traces()).toEqual({ tokens: before.tokens + 1, mails: before.mails + 1, budgets: before.budgets + 1 });
    expect(mailsTo('quiet@example.test')).toBe(1);
  });

  it('mails an account at most PAIRGATE_RESET_MAILS_PER_HOUR links an hour, whichever name is typed, with the same answer', async () => {
    await newClient().register('bombed-user', 'the right password', 'bombed@example.test');
    await newClient().register('bystander', 'the right password', 'bystander@example.test');
    const answers = [];
    for (const login of ['bombed-user', 'bombed@example.test', 'BOMBED-USER', ' Bombed@Example.test ', 'bombed-user', 'nobody-bombed']) answers.push(await askReset(login));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(sentText(answer.text)).toBe(sentText(answers[0]!.text));
    }
    await work().idle();
    // Two mails (the budget), not five, and no token for the requests beyond it.
    expect(mailsTo('bombed@example.test')).toBe(2);
    const bombedTokens = await t.app.pairgate.stores.db.selectFrom('password_resets').innerJoin('users', 'users.id', 'password_resets.user_id').select('token_hash').where('users.username', '=', 'bombed-user').execute();
    expect(bombedTokens).toHaveLength(2);
    // The log says a mail was held back, and not for whom.
    const log = t.logs.join('');
    expect(log).toContain('password reset mail not sent');
    expect(log).not.toMatch(/bombed/i);

    // Another account has a budget of its own.
    await askReset('bystander');
    await work().idle();
    expect(mailsTo('bystander@example.test')).toBe(1);

    // An hour later the account may be mailed again.
    clock.advance(3_601_000);
    await askReset('bombed@example.test');
    await work().idle();
    expect(mailsTo('bombed@example.test')).toBe(3);
  });
});
