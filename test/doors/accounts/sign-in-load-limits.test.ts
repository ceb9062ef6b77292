import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp, useListeningApp } from '../../helpers/app.js';
import { authRequest, FormClient, postJson } from '../access/form-client.js';
import { DEVICE_ENV } from '../device/device-helpers.js';

/** The alert of a page, and the machine code it carries (`data-code`), if any. */
const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];
const codeOf = (html: string): string | undefined => /<p class="error" data-code="([^"]+)" role="alert"/.exec(html)?.[1];

const PASSWORD = 'the right password';

/**
 * A right password spends no failure budget, and the sign-in forms had no rate limit of their own:
 * whoever holds one account's password (registration is open) could make the server run scrypt (32
 * MiB and one of libuv's 4 threads each) as fast as the global limit let them, from several
 * networks at once, and everyone else's sign-in waited behind those hashes for seconds or timed
 * out. Now every sign-in form counts each attempt of a network (PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE),
 * and a node runs at most PAIRGATE_PASSWORD_HASHES_AT_ONCE hashes with PAIRGATE_PASSWORD_HASH_QUEUE
 * waiting; one more is refused at once with 503 `password_hashing_busy` and Retry-After.
 */
describe('password hashes running at once', () => {
  let t: TestApp;
  let base: string;
  let nextAddress = 1;
  // Each from its own network, so that no per-network limit is what refuses them.
  const newClient = () => new FormClient(base, { 'x-forwarded-for': `10.20.0.${nextAddress++}` });
  beforeAll(async () => {
    // A costly hash (2^16), so that five sign-ins sent together all arrive while the first is hashed.
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '16', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_PASSWORD_HASHES_AT_ONCE: '1', PAIRGATE_PASSWORD_HASH_QUEUE: '2' });
    base = await t.listen();
    // Waits for the dummy hash made at start-up too: the gate holds one hash at once.
    await newClient().register('hash-gate', PASSWORD);
  });
  afterAll(() => t.close());

  it('admits one running and two waiting, refuses the others at once (503 password_hashing_busy, Retry-After), and the admitted finish', async () => {
    const people = Array.from({ length: 5 }, newClient);
    await Promise.all(people.map((person) => person.get('/account/signin')));
    const started = Date.now();
    const answers = await Promise.all(people.map(async (person) => {
      const answer = await person.post('/account/signin', { login: 'hash-gate', password: PASSWORD });
      return { ...answer, ms: Date.now() - started };
    }));
    const signedIn = answers.filter((answer) => answer.status === 303);
    const refused = answers.filter((answer) => answer.status !== 303);
    expect(signedIn).toHaveLength(3);
    expect(refused).toHaveLength(2);
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(codeOf(answer.text)).toBe('password_hashing_busy');
      expect(alertOf(answer.text)).toBe('The server is busy checking other passwords. Try again in a moment.');
      // Refused at once, not after waiting for the hashes before it.
      expect(answer.ms).toBeLessThan(Math.min(...signedIn.map((admitted) => admitted.ms)));
    }
    // Every place is given back: a later sign-in is admitted, and nothing runs or waits after it.
    expect((await newClient().signIn('hash-gate', PASSWORD)).status).toBe(303);
    expect(accountsOf({ server: t.app }).parts.hashing.load).toEqual({ running: 0, waiting: 0 });
  }, 60_000);

  it('says the refusal in the page\'s language, and checks the admitted passwords as ever (wrong ones a 401)', async () => {
    const people = Array.from({ length: 5 }, () => new FormClient(base, { 'x-forwarded-for': `10.20.1.${nextAddress++}`, 'accept-language': 'fr' }));
    await Promise.all(people.map((person) => person.get('/account/signin')));
    const answers = await Promise.all(people.map((person) => person.post('/account/signin', { login: 'hash-gate', password: 'a wrong password' })));
    const busy = answers.filter((answer) => answer.status === 503);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(alertOf(busy[0]!.text)).toBe('Le serveur est occupé à vérifier d’autres mots de passe. Réessayez dans un instant.');
    expect(answers.filter((answer) => answer.status === 401)).toHaveLength(5 - busy.length);
  }, 60_000);
});

describe('sign-ins per network', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE: '3' });
    base = await t.listen();
    await new FormClient(base, { 'x-forwarded-for': '10.30.0.1' }).register('per-network', PASSWORD);
  });
  afterAll(() => t.close());

  const onAccountPage = async (person: FormClient) => {
    await person.get('/account/signin');
    return person.post('/account/signin', { login: 'per-network', password: PASSWORD });
  };
  const onAuthPage = async (person: FormClient, lang = 'en') => {
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'per-network-app', languageCode: lang }));
    const key = String(created.body.key);
    await person.get(`/access/auth?key=${key}`);
    return person.post('/access/auth/signin', { key, login: 'per-network', password: PASSWORD });
  };
  const onDevicePage = async (person: FormClient) => {
    const started = await fetch(`${base}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'cli' }) });
    const { user_code: userCode } = (await started.json()) as { user_code: string };
    await person.get('/device');
    const typed = await person.post('/device', { user_code: userCode });
    const form = await person.get(typed.location!);
    const key = /name="key" value="([^"]+)"/.exec(form.text)![1]!;
    return person.post('/device/signin', { key, login: 'per-network', password: PASSWORD });
  };

  it('counts right passwords on every sign-in form together, and refuses beyond the limit with Retry-After in the page\'s words', async () => {
    const person = new FormClient(base, { 'x-forwarded-for': '198.51.100.7' });
    expect((await onAccountPage(person)).status).toBe(303);
    expect((await onAuthPage(person)).status).toBe(303);
    expect((await onDevicePage(person)).status).toBe(303);
    for (const refused of [await onAccountPage(person), await onAuthPage(person), await onDevicePage(person)]) {
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(61);
      expect(alertOf(refused.text)).toMatch(/^Too many sign-ins from your network\. Try again in (a minute|\d+ seconds?)\.$/);
    }
    expect(codeOf((await onAccountPage(person)).text)).toBe('rate_limited');
    // In the page's language: the auth page speaks the app's.
    expect(alertOf((await onAuthPage(person, 'fr')).text)).toMatch(/^Trop de connexions depuis votre réseau\. Réessayez dans \S.*\.$/);
  });

  it('is kept per network: another address is not refused, while every address of one IPv6 /64 shares a count', async () => {
    expect((await onAccountPage(new FormClient(base, { 'x-forwarded-for': '198.51.100.8' }))).status).toBe(303);
    for (let i = 1; i <= 3; i++) expect((await onAccountPage(new FormClient(base, { 'x-forwarded-for': `2001:db8:7:7::${i}` }))).status).toBe(303);
    expect((await onAccountPage(new FormClient(base, { 'x-forwarded-for': '2001:db8:7:7:ffff::1' }))).status).toBe(429);
    expect((await onAccountPage(new FormClient(base, { 'x-forwarded-for': '2001:db8:7:8::1' }))).status).toBe(303);
  });
});

describe('a person\'s sign-ins under the default limits', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('are never refused in a day\'s use (typos, a password change, signing in again), while a script\'s 31st sign-in in a minute is', async () => {
    const person = new FormClient(server.base);
    await person.register('ordinary', PASSWORD);
    let attempts = 0;
    for (const typo of ['the right pasword', 'The right password']) {
      attempts++;
      expect((await person.signIn('ordinary', typo)).status).toBe(401);
    }
    attempts++;
    expect((await person.signIn('ordinary', PASSWORD)).status).toBe(303);
    await person.get('/account/password');
    expect((await person.post('/account/password', { current: PASSWORD, password: 'a new right password' })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      attempts++;
      expect((await new FormClient(server.base).signIn('ordinary', 'a new right password')).status).toBe(303);
    }
    // A script signing in as fast as it can, right each time, meets the limit (30 a minute).
    while (attempts < 30) {
      attempts++;
      expect((await new FormClient(server.base).signIn('ordinary', 'a new right password')).status).toBe(303);
    }
    const refused = await new FormClient(server.base).signIn('ordinary', 'a new right password');
    expect(refused.status).toBe(429);
    expect(alertOf(refused.text)).toMatch(/^Too many sign-ins from your network\./);
  });
});
