import { createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { accountsDoor } from '../../../src/doors/accounts/accounts-door.js';
import { accountsConfigSchema } from '../../../src/doors/accounts/config.js';
import { Mailer, SMTP_TIMEOUTS, type SmtpTimeouts } from '../../../src/doors/accounts/mailer.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/** Where a stalling SMTP server stops answering. */
type Stall = 'greeting' | 'data';

/** A real SMTP listener on loopback that stops answering at `stall`, and what it saw. */
interface StallingSmtp {
  url: string;
  /** Connections accepted. */
  connections: number;
  /** Whether a whole message (up to `<CRLF>.<CRLF>`) arrived before the silence. */
  messageEnded: boolean;
  /** Connections the client ended or dropped. */
  hungUp: number;
  close(): Promise<void>;
}

/**
 * `greeting`: accepts the connection and never says a word. `data`: a well-behaved server up to the
 * message's end, then silent where the client waits for its 250.
 */
async function stallingSmtp(stall: Stall): Promise<StallingSmtp> {
  const sockets = new Set<Socket>();
  const seen = { connections: 0, messageEnded: false, hungUp: 0 };
  const server: Server = createServer((socket) => {
    seen.connections++;
    sockets.add(socket);
    socket.on('close', () => {
      seen.hungUp++;
      sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    if (stall === 'greeting') return;
    socket.write('220 stalling.test ESMTP\r\n');
    let inData = false;
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      if (inData) {
        // The end of the message: the client now waits for the server's 250, which never comes.
        if (buffered.includes('\r\n.\r\n')) seen.messageEnded = true;
        return;
      }
      let end: number;
      while (!inData && (end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (line.startsWith('EHLO') || line.startsWith('HELO')) socket.write('250 stalling.test\r\n');
        else if (line.startsWith('MAIL') || line.startsWith('RCPT')) socket.write('250 ok\r\n');
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else socket.write('502 not here\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return Object.assign(seen, {
    url: `smtp://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

const servers: StallingSmtp[] = [];
async function smtpThatStallsAt(stall: Stall): Promise<StallingSmtp> {
  const server = await stallingSmtp(stall);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const MAIL = { to: 'person@example.test', subject: 'Reset your password', text: 'a link' };

function mailerFor(smtpUrl: string, timeouts?: Partial<SmtpTimeouts>): Mailer {
  return new Mailer({ smtpUrl, from: 'pairgate <no-reply@example.test>', dataDir: '/nonexistent', logger: pino({ level: 'silent' }), ...(timeouts ? { timeouts } : {}) });
}

/** The options nodemailer's SMTP transport of `mailer` holds (made on first use, as a send would). */
async function transportOptions(mailer: Mailer): Promise<Record<string, unknown>> {
  const transport = await (mailer as unknown as { transporter(): Promise<{ transporter: { options: Record<string, unknown> } }> }).transporter();
  return transport.transporter.options;
}

/**
 * nodemailer's own timeouts (2 min to connect, 30 s for the greeting, 10 min of silence) held a
 * send to a stalled SMTP server for up to ten minutes. Every send now has pairgate's, changed
 * through the SMTP URL's query; each test below gives small ones and a real server that stalls.
 */
describe('the mailer gives up on a stalled SMTP server', () => {
  it('sends with SMTP_TIMEOUTS, not nodemailer\'s, and the SMTP URL\'s query changes any of them', async () => {
    expect(await transportOptions(mailerFor('smtp://127.0.0.1:25'))).toMatchObject({ ...SMTP_TIMEOUTS });
    expect(await transportOptions(mailerFor('smtp://127.0.0.1:25/?socketTimeout=120000&greetingTimeout=5000'))).toMatchObject({
      ...SMTP_TIMEOUTS,
      socketTimeout: 120_000,
      greetingTimeout: 5000,
    });
  });

  it('the configuration\'s description says the timeouts the mailer uses', () => {
    const described = String((accountsConfigSchema.properties.PAIRGATE_SMTP_URL as { description?: string }).description);
    for (const ms of Object.values(SMTP_TIMEOUTS)) expect(described).toContain(`${ms / 1000} s`);
    for (const name of Object.keys(SMTP_TIMEOUTS)) expect(described).toContain(name);
  });

  it('a server that accepts and never greets: the send fails at greetingTimeout and the connection is closed', async () => {
    const smtp = await smtpThatStallsAt('greeting');
    const failure = await mailerFor(smtp.url, { connectionTimeout: 2000, greetingTimeout: 200 }).send(MAIL).catch((error: unknown) => error as Error & { timeoutType?: string });
    expect(failure).toMatchObject({ message: 'Greeting never received', timeoutType: 'GREETING_TIMEOUT' });
    expect(smtp.connections).toBe(1);
    await vi.waitFor(() => expect(smtp.hungUp).toBe(1), { timeout: 10_000 });
  }, 15_000);

  it('a server that takes the whole message and never answers it: the send fails at socketTimeout', async () => {
    const smtp = await smtpThatStallsAt('data');
    const failure = await mailerFor(smtp.url, { socketTimeout: 300 }).send(MAIL).catch((error: unknown) => error as Error & { timeoutType?: string });
    expect(failure).toMatchObject({ message: 'Timeout', timeoutType: 'SOCKET_TIMEOUT' });
    expect(smtp.messageEnded).toBe(true);
    await vi.waitFor(() => expect(smtp.hungUp).toBe(1), { timeout: 10_000 });
  }, 15_000);
});

/**
 * What a person and the operator see: the reset form is answered before any mail is sent, the same
 * page whatever the mail server does; the send that stalls ends within its timeout with a warning
 * in the log, and nothing is left waiting (so shutdown does not wait for it either).
 */
describe('a password reset while the SMTP server stalls', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  for (const [stall, query, said] of [
    ['greeting', 'connectionTimeout=2000&greetingTimeout=200', 'Greeting never received'],
    ['data', 'socketTimeout=300', '"Timeout"'],
  ] as const) {
    it(`stalled at the ${stall}: the person gets the usual answer, the send ends with a warning`, async () => {
      const smtp = await smtpThatStallsAt(stall);
      t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_SMTP_URL: `${smtp.url}/?${query}` }, { doors: [accountsDoor] });
      const person = new FormClient(await t.listen());
      await person.register(`stalled-${stall}`, 'the first password', `stalled-${stall}@example.test`);
      await person.get('/account/reset');
      const answer = await person.post('/account/reset', { login: `stalled-${stall}` });
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('If an account matches, a link to reset its password has been sent');
      // The same page, word for word, as for a name that names nobody (the same browser: the same CSRF token).
      expect((await person.post('/account/reset', { login: 'nobody-at-all' })).text).toBe(answer.text);

      await vi.waitFor(() => expect(smtp.connections).toBe(1), { timeout: 10_000 });
      await accountsOf({ server: t.app }).parts.afterAnswer.idle();
      if (stall === 'data') expect(smtp.messageEnded).toBe(true);
      const warnings = t.logs.filter((line) => line.includes('password reset mail could not be sent'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(said);
      await vi.waitFor(() => expect(smtp.hungUp).toBe(1), { timeout: 10_000 });
    }, 20_000);
  }
});
