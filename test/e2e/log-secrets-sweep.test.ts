import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../src/doors/accounts/accounts.js';
import { accountsDoor } from '../../src/doors/accounts/accounts-door.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { findSecret, PASSWORD, secretSweep } from './secret-sweep-flows.js';

/**
 * The product's promise, checked over the whole server at once: nothing secret ever reaches a log.
 * One app with every door on, logging at `trace`, drives one realistic flow per door and a few
 * failing requests (the driver and the secrets it collects: ./secret-sweep-flows.ts, shared with
 * ./store-secrets-sweep.test.ts, which checks that none is stored in plain form). Then no log line
 * may contain any of the secrets the requests and answers carried.
 *
 * Not secret, and logged on purpose: the ids of grants (the device consent form's `key`, which names
 * a refresh token family in the log when a token is presented twice), installations and
 * organizations.
 *
 * Not covered here: `pairgate serve`'s start-up lines (config warnings: test/server/config-warnings),
 * the CLI's own output, the lan door (no server routes), Redis/PostgreSQL store errors
 * (test/e2e/store-failure), ACME certificate renewal, and the "unexpected error" lines of a 500
 * (no input reaches one: test/e2e/bad-input-sweep).
 */

describe('no secret reaches a log, across every door at trace level', () => {
  const sweep = secretSweep();
  const { secrets, keep } = sweep;

  /** The log lines that contain a secret, each with the secret's origin. */
  const leaks = (): string[] => {
    const found: string[] = [];
    for (const line of [...sweep.t.logs, ...sweep.relay.logs]) {
      for (const [secret, where] of secrets) if (findSecret(line, secret) >= 0) found.push(`${where}: ${JSON.stringify(secret)} in ${line.trim().slice(0, 600)}`);
    }
    return found;
  };

  beforeAll(() => sweep.start());
  afterAll(() => sweep.close());

  it('drives every door, failing requests included', () => sweep.driveEveryDoor(), 120_000);

  it('captured the whole run at trace level: at least two lines per request', () => {
    expect(sweep.t.app.log.level).toBe('trace');
    expect(sweep.requests).toBeGreaterThan(100);
    const lines = [...sweep.t.logs, ...sweep.relay.logs];
    expect(lines.length).toBeGreaterThanOrEqual(2 * sweep.requests);
    expect(lines.filter((line) => line.includes('"incoming request"')).length).toBeGreaterThanOrEqual(sweep.requests);
    // The failures were logged too: a 5xx, a refresh token presented twice.
    expect(lines.filter((line) => /"level":(40|50)/.test(line)).length).toBeGreaterThanOrEqual(2);
    // Many secrets of every kind were collected: the check below is not vacuous either.
    expect(secrets.size).toBeGreaterThan(100);
    for (const kind of ['grant code', 'grant secret', 'reset token', 'access token', 'device user_code', 'set-cookie pg_session', 'support agent credential', 'relay code', 'mattermost jwt', 'answer refresh_token', 'header authorization']) {
      expect([...secrets.values()].some((where) => where.includes(kind)), kind).toBe(true);
    }
  });

  it('no log line holds any secret the flows saw', () => {
    expect(leaks()).toEqual([]);
  });

  it('the matcher finds a secret logged in the same stream (canary), and redaction hides a secret-named field', async () => {
    const canary = `canary-${Date.now().toString(36)}-0123456789`;
    const hidden = `hidden-${Date.now().toString(36)}-9876543210`;
    keep('canary', canary);
    keep('hidden canary', hidden);
    sweep.t.app.log.info({ note: canary, password: hidden, nested: { token: hidden } }, 'sweep canary');
    // pino writes synchronously to the test stream; give it a turn anyway.
    await new Promise((resolve) => setImmediate(resolve));
    const found = leaks().filter((leak) => leak.includes('sweep canary'));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^canary: /);
  });
});

describe('a mail that cannot be sent is logged without the SMTP password', () => {
  const SMTP_PASSWORD = 'smtp-password-0123456789-abcdef';
  let t: TestApp;
  beforeAll(async () => {
    // A port nothing listens on: the mail fails at once.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    t = await createTestApp({ PAIRGATE_LOG_LEVEL: 'trace', PAIRGATE_SCRYPT_COST: '10', PAIRGATE_SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:${port}` }, { doors: [accountsDoor] });
  });
  afterAll(() => t?.close());

  it('says the reset mail failed, never the credentials', async () => {
    const page = await t.app.inject('/account/reset');
    const csrf = page.cookies.find((cookie) => cookie.name === 'pg_csrf')!.value;
    const asked = await t.app.inject({
      method: 'POST',
      url: '/account/register',
      headers: { cookie: `pg_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrf, username: 'mail-person', email: 'mail@example.test', password: PASSWORD }).toString(),
    });
    expect(asked.statusCode).toBe(303);
    const reset = await t.app.inject({
      method: 'POST',
      url: '/account/reset',
      headers: { cookie: `pg_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrf, login: 'mail-person' }).toString(),
    });
    expect(reset.statusCode).toBe(200);
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    expect(t.logs.some((line) => line.includes('password reset mail could not be sent'))).toBe(true);
    for (const secret of [SMTP_PASSWORD, encodeURIComponent(SMTP_PASSWORD), PASSWORD, csrf]) expect(t.logs.filter((line) => line.includes(secret))).toEqual([]);
  });
});
