import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import { randomId } from '../../core/ids.js';

/** A mail to send. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** How long a send to the SMTP server may take at each stage, in milliseconds (nodemailer's names). */
export interface SmtpTimeouts {
  /** Looking up the server's name, within `connectionTimeout`. */
  dnsTimeout: number;
  /** Everything before the first command: the look-up, the TCP (and TLS) connection, the greeting. */
  connectionTimeout: number;
  /** The server's greeting (and a STARTTLS upgrade), within what `connectionTimeout` leaves. */
  greetingTimeout: number;
  /** Silence from the server once talking, at any step up to its answer to the mail's end. */
  socketTimeout: number;
}

/**
 * The timeouts of every SMTP send, in place of nodemailer's (2 min to connect, 30 s for the greeting,
 * 10 min of silence), which kept a connection to a stalled server open for up to ten minutes per
 * mail. Nobody waits for a mail in a request (a reset is answered first, `AfterAnswer`), but every
 * stalled send holds a socket and its data until then, and shutdown waits for it (up to its grace).
 * Generous for a mail server that greets late on purpose (Postfix's postscreen waits 6 s) or scans
 * a short message before taking it. The operator changes any of them in `PAIRGATE_SMTP_URL`'s query
 * (`smtp://host:587/?socketTimeout=120000`), which nodemailer reads over these.
 */
export const SMTP_TIMEOUTS: Readonly<SmtpTimeouts> = {
  dnsTimeout: 10_000,
  connectionTimeout: 30_000,
  greetingTimeout: 20_000,
  socketTimeout: 60_000,
};

/** The outbox's file names: the time written (ms since the epoch), a random part, `.eml`. */
const OUTBOX_FILE = /^(\d{1,15})-[A-Za-z0-9_-]+\.eml$/;

/**
 * Sends mail with nodemailer: over SMTP when a URL is configured, otherwise into `<data dir>/outbox`
 * as .eml files (mode 0600) with a log line that names the file and never the content, since the
 * content may carry a reset link. The outbox is swept (`sweepOutbox`): a mail is kept as long as
 * what it carries lives, not for ever with its recipient's address.
 */
export class Mailer {
  private transport: Promise<Transporter> | undefined;
  private readonly outbox: string | undefined;

  /** `timeouts` (tests) replaces `SMTP_TIMEOUTS` in part or whole; the SMTP URL's query still wins. */
  constructor(private readonly options: { smtpUrl: string; from: string; dataDir: string; logger: FastifyBaseLogger; timeouts?: Partial<SmtpTimeouts> }) {
    if (!options.smtpUrl) this.outbox = join(options.dataDir, 'outbox');
  }

  /**
   * The transport, made on the first mail: nodemailer is loaded then, not at every start (it took
   * 70 ms and 3 MiB of heap, for mail that a server sends only on sign-ups and password resets).
   */
  private transporter(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      this.options.smtpUrl
        ? nodemailer.createTransport({ ...SMTP_TIMEOUTS, ...this.options.timeouts, url: this.options.smtpUrl })
        : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }),
    );
    return this.transport;
  }

  /** Sends `mail`; failures are logged (without content) and re-thrown. */
  async send(mail: Mail): Promise<void> {
    // An address object, not a string: nodemailer reads a string as a list (`a,b@x.com` would go
    // to `b@x.com`), and the recipient is an account's stored address, which must stay one mailbox.
    const info = await (await this.transporter()).sendMail({ from: this.options.from, to: { name: '', address: mail.to }, subject: mail.subject, text: mail.text });
    if (this.outbox) {
      mkdirSync(this.outbox, { recursive: true, mode: 0o700 });
      const file = join(this.outbox, `${Date.now()}-${randomId(6)}.eml`);
      writeFileSync(file, (info as unknown as { message: Buffer }).message, { mode: 0o600 });
      this.options.logger.info({ file, subject: mail.subject }, 'mail written to the outbox (no SMTP configured)');
    }
  }

  /**
   * Deletes the outbox's mails written `maxAgeMs` or longer before `now` (the reset link they carry
   * has expired: nobody can use them, and each names a person's address), and only files this
   * mailer names so; returns how many went. Nothing without an outbox, or before its first mail.
   */
  async sweepOutbox(now: number, maxAgeMs: number): Promise<number> {
    if (!this.outbox) return 0;
    let names: string[];
    try {
      names = await readdir(this.outbox);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      const writtenAt = OUTBOX_FILE.exec(name)?.[1];
      if (writtenAt === undefined || Number(writtenAt) + maxAgeMs > now) continue;
      await rm(join(this.outbox, name), { force: true });
      removed++;
    }
    return removed;
  }
}
