import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

const RESET_TTL_SECONDS = 60;

/**
 * Without SMTP, reset mails are written to `<data dir>/outbox`, each with its recipient's address
 * and the link in clear. They were kept for ever, after their link had expired and after the
 * account was deleted. The accounts door's sweep now deletes a mail once its link has expired.
 * Only the interval timers are faked, to run the door's own sweep (once a minute) at once.
 */
describe('accounts: the outbox keeps a mail only while its reset link lives', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  const outbox = () => join(t.config.PAIRGATE_DATA_DIR, 'outbox');
  const mails = () => readdirSync(outbox()).filter((name) => name.endsWith('.eml')).sort();

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    clock = new ManualClock(Date.now());
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_RESET_TTL_SECONDS: String(RESET_TTL_SECONDS) }, { clock });
    base = await t.listen();
  });
  afterAll(async () => {
    await t.close();
    vi.useRealTimers();
  });

  it('a mail goes once its link has expired; files the mailer did not write stay', async () => {
    const person = new FormClient(base);
    await person.register('outbox-leaver', 'the first password', 'outbox-leaver@example.test');
    const asker = new FormClient(base);
    await asker.get('/account/reset');
    expect((await asker.post('/account/reset', { login: 'outbox-leaver' })).status).toBe(200);
    const accounts = accountsOf({ server: t.app });
    await accounts.parts.afterAnswer.idle();
    const [mail] = mails();
    expect(mail).toBeDefined();
    writeFileSync(join(outbox(), 'operator-notes.txt'), 'kept');
    const writtenAt = Number(/^(\d+)-/.exec(mail!)![1]);
    // The door's sweep, as it runs every minute.
    const sweep = async () => {
      await vi.advanceTimersByTimeAsync(60_000);
      await accounts.parts.afterAnswer.idle();
      await new Promise((resolve) => setTimeout(resolve, 50));
    };

    clock.advance(writtenAt + RESET_TTL_SECONDS * 1000 - 1 - clock.now());
    await sweep();
    expect(mails()).toEqual([mail]);

    clock.advance(1);
    await sweep();
    await vi.waitFor(() => expect(mails()).toEqual([]), { timeout: 5_000 });
    expect(readdirSync(outbox())).toEqual(['operator-notes.txt']);
  });
});
