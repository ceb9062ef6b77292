import { request as httpRequest, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { waitingShare, type PasswordHashing } from '../../../src/doors/accounts/password-hashing.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

const PASSWORD = 'the right password';
const codeOf = (html: string): string | undefined => /data-code="([^"]+)"/.exec(html)?.[1];

/** Resolves once `done()` holds, checked every few milliseconds; fails after `ms`. */
async function until(done: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`never came: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Takes every running place of `gate` with a hash that lasts until the function returned is called. */
function holdRunningPlaces(gate: PasswordHashing, count: number): () => void {
  const ends: Array<() => void> = [];
  for (let i = 0; i < count; i++) void gate.run(() => new Promise<void>((resolve) => ends.push(resolve)), undefined);
  expect(gate.load).toEqual({ running: count, waiting: 0 });
  return () => ends.forEach((end) => end());
}

/** A server whose gate runs one hash at once with `queue` waiting; sign-ins' network from X-Forwarded-For. */
async function gatedServer(queue: number): Promise<{ t: TestApp; base: string; gate: PasswordHashing }> {
  const t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_PASSWORD_HASHES_AT_ONCE: '1', PAIRGATE_PASSWORD_HASH_QUEUE: String(queue), PAIRGATE_RATE_LIMIT_MAX: '100000' });
  const base = await t.listen();
  const accounts = accountsOf({ server: t.app });
  await accounts.prepare();
  return { t, base, gate: accounts.parts.hashing };
}

/**
 * The password gate's queue was first come, first served: a few networks (each within its own
 * sign-ins a minute, or registrations, which no per-network count limits) kept every waiting place
 * and every other person's sign-in was refused 503. One network now holds at most its share of
 * the waiting places (`waitingShare`: 8 of 32, 2 of 8), counted by the client network as every
 * per-network limit counts (an IPv4 address, an IPv6 /64).
 */
describe('password gate: one network holds at most its share of the waiting places', () => {
  let server: Awaited<ReturnType<typeof gatedServer>>;
  beforeAll(async () => {
    server = await gatedServer(8);
    await new FormClient(server.base, { 'x-forwarded-for': '192.0.2.1' }).register('fair-share', PASSWORD);
  });
  afterAll(() => server.t.close());

  it('gives a quarter of the queue, at least 2, and never a whole queue of 2 or more', () => {
    expect([0, 1, 2, 3, 4, 8, 12, 32, 10_000].map(waitingShare)).toEqual([0, 1, 1, 2, 2, 2, 3, 8, 2500]);
  });

  it('refuses the crowd of one /64 beyond its 2 places (503 password_hashing_busy) while other networks still queue, and every admitted one signs in', async () => {
    const { base, gate } = server;
    const release = holdRunningPlaces(gate, 1);
    try {
      await crowdAgainstOthers(base, gate, release);
    } finally {
      release();
    }
  }, 30_000);
});

/** The crowd of one /64 and three other networks at `gate`, whose one running place is held until `release`. */
async function crowdAgainstOthers(base: string, gate: PasswordHashing, release: () => void): Promise<void> {
  // Eight addresses of one IPv6 /64: one network, whatever address each post comes from.
  const crowd = Array.from({ length: 8 }, (_, i) => new FormClient(base, { 'x-forwarded-for': `2001:db8:aa:1::${i + 1}` }));
  const others = ['198.51.100.1', '198.51.100.2', '2001:db8:aa:2::1'].map((address) => new FormClient(base, { 'x-forwarded-for': address }));
  await Promise.all([...crowd, ...others].map((person) => person.get('/account/signin')));
  let answered = 0;
  const crowdAnswers = Promise.all(crowd.map(async (person) => {
    const answer = await person.post('/account/signin', { login: 'fair-share', password: PASSWORD });
    answered++;
    return answer;
  }));
  // Every post of the crowd has reached the gate: waiting there, or refused.
  await until(() => gate.load.waiting + answered === crowd.length, 'the crowd at the gate');
  const crowdWaiting = gate.load.waiting;
  expect(crowdWaiting).toBe(2);
  const othersAnswers = Promise.all(others.map((person) => person.post('/account/signin', { login: 'fair-share', password: PASSWORD })));
  await until(() => gate.load.waiting === crowdWaiting + others.length, 'the other networks waiting');
  release();
  const fromCrowd = await crowdAnswers;
  const fromOthers = await othersAnswers;
  expect(fromOthers.map((answer) => answer.status)).toEqual([303, 303, 303]);
  expect(fromCrowd.filter((answer) => answer.status === 303)).toHaveLength(2);
  const refused = fromCrowd.filter((answer) => answer.status !== 303);
  expect(refused).toHaveLength(6);
  for (const answer of refused) {
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(codeOf(answer.text)).toBe('password_hashing_busy');
  }
  expect(gate.load).toEqual({ running: 0, waiting: 0 });
  // Its share given back, the network queues again.
  expect((await crowd[0]!.post('/account/signin', { login: 'fair-share', password: PASSWORD })).status).toBe(303);
}

/** Posts the sign-in form of `client` (its cookies and CSRF token) over a connection of its own, left open. */
function postSignInRaw(client: FormClient, fields: Record<string, string>): { request: ClientRequest; answered: Promise<number | 'closed'> } {
  const body = new URLSearchParams({ _csrf: client.lastCsrf, ...fields }).toString();
  const url = new URL('/account/signin', client.base);
  const request = httpRequest({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    agent: false,
    headers: { ...client.headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), cookie: [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
  });
  const answered = new Promise<number | 'closed'>((resolve) => {
    request.once('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('error', () => resolve('closed'));
  });
  request.end(body);
  return { request, answered };
}

/**
 * A hash waiting in the gate ran once its turn came even when its client had closed the connection
 * meanwhile: a scrypt nobody would read, and a waiting place kept from the next person. The gate
 * now listens to the connection: the waiting place is given up at once and the scrypt never runs.
 */
describe('password gate: a waiting hash whose client left', () => {
  let server: Awaited<ReturnType<typeof gatedServer>>;
  beforeAll(async () => {
    // One waiting place: whoever holds it keeps everyone else out.
    server = await gatedServer(1);
    await new FormClient(server.base, { 'x-forwarded-for': '192.0.2.1' }).register('left-early', PASSWORD);
  });
  afterAll(() => server.t.close());

  it('gives its place up when the connection closes, never runs its scrypt, and the next person takes the place', async () => {
    const { base, gate } = server;
    const release = holdRunningPlaces(gate, 1);
    try {
      const leaver = new FormClient(base, { 'x-forwarded-for': '203.0.113.10' });
      await leaver.get('/account/signin');
      const { request, answered } = postSignInRaw(leaver, { login: 'left-early', password: PASSWORD });
      await until(() => gate.load.waiting === 1, 'the leaver waiting');
      const started = gate.started;
      const givenUp = gate.givenUp;
      request.destroy();
      expect(await answered).toBe('closed');
      await until(() => gate.load.waiting === 0, 'the leaver\'s place given up');
      expect(gate.givenUp).toBe(givenUp + 1);

      // The place is free: the next person, of another network, waits in it rather than being refused.
      const next = new FormClient(base, { 'x-forwarded-for': '203.0.113.11' });
      await next.get('/account/signin');
      const nextAnswer = next.post('/account/signin', { login: 'left-early', password: PASSWORD });
      await until(() => gate.load.waiting === 1, 'the next person waiting');
      release();
      expect((await nextAnswer).status).toBe(303);
      await until(() => gate.load.running === 0, 'the gate idle');
      // One scrypt since the leaver queued: the next person's. The leaver's never ran.
      expect(gate.started).toBe(started + 1);
    } finally {
      release();
    }
  }, 30_000);

  it('keeps a connection\'s one listener across the sign-ins it carries (keep-alive), and a hash that finishes leaves none waiting', async () => {
    const { base, gate } = server;
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const person = new FormClient(base, { 'x-forwarded-for': '203.0.113.12' });
      // fetch keeps the connection alive: a listener per sign-in would pass Node's 10 on it.
      for (let i = 0; i < 12; i++) expect((await person.signIn('left-early', PASSWORD)).status).toBe(303);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  }, 30_000);
});
