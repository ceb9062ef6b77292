import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../../core/errors.js';
import { configSection } from '../../server/config.js';
import type { Door, DoorContext } from '../door.js';
import { installAccountPages } from './account-pages.js';
import { AfterAnswer } from './after-answer.js';
import { Accounts, registerAccounts } from './accounts.js';
import { accountsConfigSchema, sessionIdleSeconds } from './config.js';
import { accountDeletionGuards } from './deletion-guards.js';
import { Mailer } from './mailer.js';
import { accountsMigrations } from './migrations.js';
import { passwordChangeHooks } from './password-change-hooks.js';
import { PasswordHashing } from './password-hashing.js';
import { PasswordResets } from './password-resets.js';
import { ResetMailBudget } from './reset-mail-budget.js';
import { DeviceCookies, deviceCookieKey } from './device-cookies.js';
import { Sessions } from './sessions.js';
import { SignInLimits, signInNameKey } from './sign-in-limits.js';
import { UserStore } from './users.js';

/**
 * Accounts: the people who sign in to pairgate's pages (the access door's consent, and any other
 * door through `requireUser`). Users, sessions and reset tokens are durable tables; failure
 * counters live in the ephemeral store.
 */
export const accountsDoor: Door = {
  name: 'accounts',
  configSchema: accountsConfigSchema,
  migrations: accountsMigrations,
  homeLinks: () => [{ order: 20, href: '/account', title: 'Your account', text: 'Sign in to see and revoke the apps you gave access to.', translations: { fr: { title: 'Votre compte', text: 'Connectez-vous pour voir et révoquer les applications auxquelles vous avez donné accès.' } } }],
  checkConfig(config) {
    const cfg = configSection(config, accountsConfigSchema);
    const smtp = cfg.PAIRGATE_SMTP_URL;
    if (smtp && !/^smtps?:\/\/[^/]+/.test(smtp)) throw new ConfigError('PAIRGATE_SMTP_URL', 'expected smtp://host:port or smtps://user:pass@host:port, or empty for the outbox folder');
    // Idle longer than the lifetime would never be reached: a setting that says something the server
    // would not do is refused rather than quietly cut (left unset, it is cut: `sessionIdleSeconds`).
    const idle = cfg.PAIRGATE_SESSION_IDLE_SECONDS;
    if (idle !== undefined && idle > cfg.PAIRGATE_SESSION_TTL_SECONDS) {
      throw new ConfigError('PAIRGATE_SESSION_IDLE_SECONDS', `${idle} s is longer than a session lives (PAIRGATE_SESSION_TTL_SECONDS, ${cfg.PAIRGATE_SESSION_TTL_SECONDS} s), so it would never end one; set it to at most ${cfg.PAIRGATE_SESSION_TTL_SECONDS}, raise PAIRGATE_SESSION_TTL_SECONDS, or leave it unset (a day, or the lifetime when shorter)`);
    }
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    const cfg = configSection(ctx.config, accountsConfigSchema);
    const users = new UserStore(ctx.stores.db);
    const secureCookies = ctx.publicUrl().startsWith('https:');
    const accounts = new Accounts({
      users,
      sessions: new Sessions(ctx.stores.db, users, { ttlMs: cfg.PAIRGATE_SESSION_TTL_SECONDS * 1000, idleMs: sessionIdleSeconds(cfg) * 1000 }, secureCookies),
      devices: new DeviceCookies(deviceCookieKey(ctx.engine), cfg.PAIRGATE_SIGNIN_DEVICE_DAYS * 86_400_000, secureCookies),
      limits: new SignInLimits(ctx.stores.ephemeral, ctx.clock, {
        attemptsPerMinute: cfg.PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE,
        perAccount: cfg.PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT,
        perIp: cfg.PAIRGATE_SIGNIN_FAILURES_PER_IP,
        perDevice: cfg.PAIRGATE_SIGNIN_FAILURES_PER_DEVICE,
        windowMs: cfg.PAIRGATE_SIGNIN_WINDOW_SECONDS * 1000,
      }, signInNameKey(ctx.engine)),
      resets: new PasswordResets(ctx.stores.db, cfg.PAIRGATE_RESET_TTL_SECONDS * 1000),
      mailer: new Mailer({ smtpUrl: cfg.PAIRGATE_SMTP_URL, from: cfg.PAIRGATE_MAIL_FROM, dataDir: ctx.config.PAIRGATE_DATA_DIR, logger: ctx.logger }),
      resetMailBudget: new ResetMailBudget(ctx.stores.ephemeral, ctx.clock, cfg.PAIRGATE_RESET_MAILS_PER_HOUR),
      afterAnswer: new AfterAnswer(ctx.logger),
      clock: ctx.clock,
      hashing: new PasswordHashing({ cost: cfg.PAIRGATE_SCRYPT_COST, atOnce: cfg.PAIRGATE_PASSWORD_HASHES_AT_ONCE, waiting: cfg.PAIRGATE_PASSWORD_HASH_QUEUE }),
      resetTtlMs: cfg.PAIRGATE_RESET_TTL_SECONDS * 1000,
      registration: cfg.PAIRGATE_ACCOUNTS_REGISTRATION,
      // Filled by other doors (the install door's last-admin check), before or after this one.
      deletionGuards: accountDeletionGuards(app.pairgate),
      // Filled by the device and access doors, which end their tokens of an account given a new password.
      passwordChangeHooks: passwordChangeHooks(app.pairgate),
    });
    // The dummy hash of unknown names, started now so that it is ready before the first sign-in
    // (one scrypt on libuv's threads); not waited for: start-up, and every CLI's first line, would
    // wait a scrypt (a sign-in in that first moment waits for the same hash, `authenticate`).
    accounts.prepare().catch((error: unknown) => ctx.logger.warn({ err: error }, 'accounts: the dummy password hash could not be made; the first unknown name will make it'));
    registerAccounts(app.pairgate, accounts);
    // The node's one gate: the support door's supporter passwords are hashed through it too (it
    // takes `accounts.parts.hashing` of this server: `supporterPasswordGate`).
    installAccountPages(app, ctx, accounts, cfg.PAIRGATE_ACCOUNTS_REGISTRATION);

    app.addHook('onClose', async () => {
      // Reset requests already answered still owe their mail; the stores close after this hook.
      await accounts.parts.afterAnswer.close(ctx.config.PAIRGATE_SHUTDOWN_GRACE_SECONDS * 1000);
    });
    // Added after the hook above, so the sweep stops first (onClose hooks run last added first)
    // and none starts while the mail is waited for.
    // The outbox's mails go once their reset link has expired; sessions once expired or idle.
    ctx.everySweep('account', (now) => Promise.all([accounts.parts.sessions.sweep(now), accounts.parts.resets.sweep(now), accounts.parts.mailer.sweepOutbox(now, accounts.parts.resetTtlMs)]));
  },
};
