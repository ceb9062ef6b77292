import { request as httpRequest, ServerResponse, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isPairgateError } from '../../../src/core/errors.js';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { PasswordHashing, waitingShare } from '../../../src/doors/accounts/password-hashing.js';
import { Pages } from '../../../src/web/pages.js';
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

  it('refuses the crowd of one /64 beyond its 2 places (503 password_hashing_network_busy) while other networks still queue, and every admitted one signs in', async () => {
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
    // Its own code, told apart from a full queue's `password_hashing_busy`, and words that say why.
    expect(codeOf(answer.text)).toBe('password_hashing_network_busy');
    expect(answer.text).toContain('Many sign-ins from your network are already waiting to be checked. Try again in a moment.');
  }
  expect(gate.load).toEqual({ running: 0, waiting: 0 });
  // Its share given back, the network queues again.
  expect((await crowd[0]!.post('/account/signin', { login: 'fair-share', password: PASSWORD })).status).toBe(303);
}

/** Posts the form at `path` of `client` (its cookies and CSRF token) over a connection of its own, left open. */
function postFormRaw(client: FormClient, path: string, fields: Record<string, string>): { request: ClientRequest; answered: Promise<number | 'closed'> } {
  const body = new URLSearchParams({ _csrf: client.lastCsrf, ...fields }).toString();
  const url = new URL(path, client.base);
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
      const { request, answered } = postFormRaw(leaver, '/account/signin', { login: 'left-early', password: PASSWORD });
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

  /**
   * The forms caught the 499 of a hash given up for a gone client as any refusal and rendered the
   * form again (the sign-up, change and reset forms; the user looked up for the navigation too),
   * and the sign-in's, thrown on, was answered in JSON by the error handler, for a socket that was
   * gone. Now nothing is made for it: the status alone, for the log, and no body.
   */
  it('renders no form and sends no body to a client gone while its hash waited (sign-up, password change, sign-in), and answers it 499', async () => {
    const { base, gate } = server;
    const person = new FormClient(base, { 'x-forwarded-for': '203.0.113.13' });
    await person.register('left-signed-in', PASSWORD);
    // The 499 lines of the POSTs to `path` (a request's lines share its reqId; the first one names the route).
    const goneLines = (path: string): unknown[] => {
      const entries = server.t.logs.flatMap((chunk) => chunk.split('\n').filter(Boolean))
        .map((line) => JSON.parse(line) as { reqId?: string; msg?: string; res?: { statusCode?: number }; req?: { method?: string; route?: string } });
      const posts = new Set(entries.filter((entry) => entry.req?.method === 'POST' && entry.req.route === path).map((entry) => entry.reqId));
      return entries.filter((entry) => posts.has(entry.reqId) && entry.res?.statusCode === 499 && entry.msg === 'request ended: the client closed the connection first');
    };
    const forms: Array<{ path: string; fields: Record<string, string> }> = [
      { path: '/account/register', fields: { username: 'never-made', email: 'never-made@example.test', password: PASSWORD } },
      { path: '/account/password', fields: { current: PASSWORD, password: 'another good password' } },
      { path: '/account/signin', fields: { login: 'left-signed-in', password: PASSWORD } },
    ];
    const renders = vi.spyOn(Pages.prototype, 'render');
    const errorPages = vi.spyOn(Pages.prototype, 'renderErrorPage');
    // The server's answers as they end, with their requests: the handler's answer to a gone client is never logged.
    const ends = vi.spyOn(ServerResponse.prototype, 'end');
    const answeredAt = (path: string): Array<{ status: number; body: unknown }> => ends.mock.calls.flatMap((args, i) => {
      const response = ends.mock.contexts[i] as ServerResponse;
      return response.req.method === 'POST' && response.req.url === path ? [{ status: response.statusCode, body: args[0] }] : [];
    });
    try {
      for (const { path, fields } of forms) {
        const release = holdRunningPlaces(gate, 1);
        try {
          await person.get(path);
          renders.mockClear();
          errorPages.mockClear();
          ends.mockClear();
          const loggedBefore = goneLines(path).length;
          const { request, answered } = postFormRaw(person, path, fields);
          await until(() => gate.load.waiting === 1, `${path} waiting`);
          request.destroy();
          expect(await answered).toBe('closed');
          // The handler has answered: every render it would make is made by then.
          await until(() => answeredAt(path).length > 0, `${path} answered`);
          const [answer] = answeredAt(path);
          expect(answer?.status).toBe(499);
          expect(answer?.body ? String(answer.body) : '').toBe('');
          expect(renders).not.toHaveBeenCalled();
          expect(errorPages).not.toHaveBeenCalled();
          // Logged all the same, as 499 (Fastify writes no line for a response that never finishes).
          await until(() => goneLines(path).length === loggedBefore + 1, `${path} logged`);
        } finally {
          release();
        }
        await until(() => gate.load.running === 0, 'the gate idle');
      }
    } finally {
      renders.mockRestore();
      errorPages.mockRestore();
      ends.mockRestore();
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

/** Runs `count` hashes of `network` (undefined: the node's own) through `gate`, each noting its label in `order` when it runs. */
function queueHashes(gate: PasswordHashing, order: string[], network: string, count: number): Array<Promise<void>> {
  return Array.from({ length: count }, (_, i) => gate.run(async () => void order.push(`${network}${i + 1}`), { network }));
}

/**
 * Once admitted, waiting hashes ran in order of arrival: one network with its 8 places ahead of a
 * person held that person's sign-in for 8 scrypts. They are now served round robin by client
 * network (the network key the share counts), each network's in order of arrival.
 */
describe('password gate: the waiting are served in turn from each network', () => {
  it('runs a network with nothing waiting before another network\'s 2nd..nth, and a network that comes back joins the end of the turn', async () => {
    const gate = new PasswordHashing({ cost: 10, atOnce: 1, waiting: 32 });
    const release = holdRunningPlaces(gate, 1);
    const order: string[] = [];
    const done = [...queueHashes(gate, order, 'A', 4), ...queueHashes(gate, order, 'B', 1), ...queueHashes(gate, order, 'C', 2)];
    expect(gate.load).toEqual({ running: 1, waiting: 7 });
    release();
    await Promise.all(done);
    // In order of arrival this was A1 A2 A3 A4 B1 C1 C2.
    expect(order).toEqual(['A1', 'B1', 'C1', 'A2', 'C2', 'A3', 'A4']);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('keeps the turn when a waiting hash leaves (its client gone), and the node\'s own hashes take a turn of their own', async () => {
    const gate = new PasswordHashing({ cost: 10, atOnce: 1, waiting: 32 });
    const release = holdRunningPlaces(gate, 1);
    const order: string[] = [];
    const leaving = new AbortController();
    const left = gate.run(async () => void order.push('A-left'), { network: 'A', signal: leaving.signal }).catch((error: unknown) => (isPairgateError(error) ? error.code : 'other'));
    const done = [...queueHashes(gate, order, 'A', 2), gate.run(async () => void order.push('node'), undefined), ...queueHashes(gate, order, 'B', 1)];
    leaving.abort();
    expect(await left).toBe('client_closed_request');
    expect(gate.load).toEqual({ running: 1, waiting: 4 });
    release();
    await Promise.all(done);
    expect(order).toEqual(['A1', 'node', 'B1', 'A2']);
  });
});

/**
 * A hash refused because its network holds its share of the queue answered the same 503
 * `password_hashing_busy` as a full queue: neither an operator nor a client could tell them apart.
 */
describe('password gate: a network\'s share spent is told apart from a full queue', () => {
  it('refuses a network beyond its share with 503 password_hashing_network_busy, and a full queue with 503 password_hashing_busy, both with Retry-After', async () => {
    const gate = new PasswordHashing({ cost: 10, atOnce: 1, waiting: 8 });
    const release = holdRunningPlaces(gate, 1);
    const refusal = (network: string) => gate.run(async () => undefined, { network }).then(() => undefined, (error: unknown) => error);
    const admitted = [...queueHashes(gate, [], 'A', 2)];
    const shareSpent = await refusal('A');
    expect(shareSpent).toMatchObject({ code: 'password_hashing_network_busy', status: 503, details: { retryAfterSeconds: 1 } });
    expect((shareSpent as Error).message).toBe('Many sign-ins from your network are already waiting to be checked. Try again in a moment.');
    for (const network of ['B', 'C', 'D']) admitted.push(...queueHashes(gate, [], network, 2));
    expect(gate.load.waiting).toBe(8);
    expect(await refusal('E')).toMatchObject({ code: 'password_hashing_busy', status: 503, details: { retryAfterSeconds: 1 } });
    release();
    await Promise.all(admitted);
  });
});
