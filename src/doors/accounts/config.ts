import { Type, type Static } from 'typebox';

/** Configuration of accounts: sign-in, sessions, registration and password reset. */
export const accountsConfigSchema = Type.Object({
  PAIRGATE_ACCOUNTS_REGISTRATION: Type.Boolean({ default: true, description: 'Let anyone register an account at /account/register.' }),
  PAIRGATE_SESSION_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 30 * 86400, default: 7 * 86400, description: 'Lifetime of a sign-in session (cookie and server record), however much it is used.' }),
  // Optional, as its default depends on the lifetime: a lifetime set below a day must not make the
  // default refuse to start (`sessionIdleSeconds`); only a value set above the lifetime is refused.
  PAIRGATE_SESSION_IDLE_SECONDS: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86400, description: 'A sign-in session not used for this long ends before its lifetime (PAIRGATE_SESSION_TTL_SECONDS), so a browser left signed in on a shared computer does not stay so for days; at most the lifetime. Default: 86400 (a day), or the lifetime when that is shorter.' })),
  PAIRGATE_SCRYPT_COST: Type.Integer({ minimum: 10, maximum: 20, default: 15, description: 'log2 of the scrypt cost parameter N for password hashes (15 = 32768).' }),
  PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE: Type.Integer({ minimum: 1, default: 30, description: 'Sign-ins, right or wrong, one client network (an IPv4 address, an IPv6 /64) may try per minute on every sign-in form together (/account/signin, /access/auth/signin, /device/signin); beyond, refused (429 rate_limited, with Retry-After) until the minute ends. Each costs a password hash, and a right password spends no failure budget.' }),
  PAIRGATE_PASSWORD_HASHES_AT_ONCE: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Password hashes (scrypt: sign-in, registration, password change, reset, deletion) one node runs at once; each holds 32 MiB at the default cost and one of libuv\'s threads (4 unless UV_THREADPOOL_SIZE says more), which file reads and DNS look-ups share.' }),
  PAIRGATE_PASSWORD_HASH_QUEUE: Type.Integer({ minimum: 0, maximum: 10000, default: 32, description: 'Password hashes that may wait for a place beyond PAIRGATE_PASSWORD_HASHES_AT_ONCE, served in turn from each client network, each network\'s in order of arrival; one more is refused at once (503 password_hashing_busy, Retry-After: 1) rather than left waiting for seconds. One client network holds at most a quarter of them (at least 2, never all of 2 or more); its next is refused the same way under its own code (503 password_hashing_network_busy).' }),
  PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: Type.Integer({ minimum: 1, default: 10, description: 'Failed sign-ins per account name per window before it is refused for the rest of the window.' }),
  PAIRGATE_SIGNIN_FAILURES_PER_IP: Type.Integer({ minimum: 1, default: 30, description: 'Failed sign-ins per client IP per window before that IP is refused for the rest of the window.' }),
  PAIRGATE_SIGNIN_FAILURES_PER_DEVICE: Type.Integer({ minimum: 1, default: 10, description: 'Failed sign-ins (and wrong current passwords on the change-password and delete forms) per window of a browser holding a device cookie of the account (given at each sign-in): these count on the device\'s own budget, not the account\'s, so guesses from elsewhere that spend the account\'s do not refuse it; once spent, the browser counts as any other for the rest of the window.' }),
  PAIRGATE_SIGNIN_DEVICE_DAYS: Type.Integer({ minimum: 1, maximum: 400, default: 365, description: 'Lifetime in days of the device cookie a sign-in gives the browser (at most 400, the longest browsers keep a cookie).' }),
  PAIRGATE_SIGNIN_WINDOW_SECONDS: Type.Integer({ minimum: 1, default: 900, description: 'Window of the sign-in failure limits in seconds.' }),
  PAIRGATE_RESET_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 86400, default: 3600, description: 'Lifetime of a password-reset link.' }),
  PAIRGATE_RESET_MAILS_PER_HOUR: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'Password-reset mails one account may be sent per hour; requests beyond get the same answer and no mail.' }),
  PAIRGATE_SMTP_URL: Type.String({ default: '', description: 'SMTP server for mail (smtp://user:pass@host:587); empty = write mail to <data dir>/outbox. A send gives up after 30 s to connect and be greeted (20 s for the greeting, 10 s for the name) or 60 s of silence from the server; its query changes them, in ms (?connectionTimeout=, greetingTimeout=, dnsTimeout=, socketTimeout=).' }),
  PAIRGATE_MAIL_FROM: Type.String({ default: 'pairgate <no-reply@localhost>', description: 'Sender of the mail pairgate sends.' }),
});

/** PAIRGATE_SESSION_IDLE_SECONDS when it is not set: a day, or the sessions' lifetime when that is shorter. */
export const DEFAULT_SESSION_IDLE_SECONDS = 86400;

/**
 * Seconds a session may go unused before it ends: PAIRGATE_SESSION_IDLE_SECONDS, or its default
 * (a day, at most the lifetime). A value set above the lifetime is refused at start-up
 * (`accountsDoor.checkConfig`), so this never exceeds it.
 */
export function sessionIdleSeconds(cfg: Pick<Static<typeof accountsConfigSchema>, 'PAIRGATE_SESSION_IDLE_SECONDS' | 'PAIRGATE_SESSION_TTL_SECONDS'>): number {
  return Math.min(cfg.PAIRGATE_SESSION_IDLE_SECONDS ?? DEFAULT_SESSION_IDLE_SECONDS, cfg.PAIRGATE_SESSION_TTL_SECONDS);
}
