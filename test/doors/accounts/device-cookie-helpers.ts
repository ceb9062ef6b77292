import { beforeAll, expect } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { useListeningApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/** How many wrong passwords spend an account's failure budget in these tests. */
export const ACCOUNT_FAILURES = 3;

/**
 * The sign-in limits the device-cookie tests spend: an account's budget of 3, a device's of 2, a
 * network's of 4, over 15 minutes; behind a loopback proxy, so each client's X-Forwarded-For is
 * its network.
 */
const SIGN_IN_LIMITS = {
  PAIRGATE_SCRYPT_COST: '10',
  PAIRGATE_TRUST_PROXY: '127.0.0.1',
  PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: String(ACCOUNT_FAILURES),
  PAIRGATE_SIGNIN_FAILURES_PER_DEVICE: '2',
  PAIRGATE_SIGNIN_FAILURES_PER_IP: '4',
  PAIRGATE_SIGNIN_WINDOW_SECONDS: '900',
};

/** A client class these tests may use: FormClient or one that acts more like a browser. */
export type ClientClass<C extends FormClient> = new (base: string, headers: Record<string, string>) => C;

/** What {@link useDeviceCookieApp} starts with. */
export interface DeviceCookieAppOptions<C extends FormClient> {
  /** The clients' class. */
  readonly Client: ClientClass<C>;
  /** The first two parts of each client's address (`10.47`), the last two counting up. */
  readonly network: string;
  /** Settings over {@link SIGN_IN_LIMITS}. */
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  /** Accounts registered before the tests, each with the password `the right password`. */
  readonly accounts?: readonly string[];
}

/** A listening app with the sign-in limits of the device-cookie tests, and the steps they share. */
export interface DeviceCookieApp<C extends FormClient> {
  readonly t: TestApp;
  readonly base: string;
  /** A browser on a network of its own (or on `ip`). */
  newClient(ip?: string): C;
  /**
   * Spends `login`'s account budget with wrong passwords, each from another network, and checks
   * that a sign-in with `lastTry` from yet another one is then refused (429); returns that answer.
   */
  lockOut(login: string, lastTry?: string): ReturnType<FormClient['signIn']>;
  /** A browser that signed in to `login` with `password` (from `ip`): it holds the account's device cookie. */
  signedInBrowser(login: string, password: string, ip?: string): Promise<C>;
}

/**
 * Starts, for the tests of the calling describe, an app with the sign-in limits the device-cookie
 * tests spend, registers `accounts` on it, and closes it after them.
 */
export function useDeviceCookieApp<C extends FormClient>(options: DeviceCookieAppOptions<C>): DeviceCookieApp<C> {
  const served = useListeningApp({ ...SIGN_IN_LIMITS, ...options.env }, options.clock ? { clock: options.clock } : {});
  let nextAddress = 1;
  const newClient = (ip?: string): C =>
    new options.Client(served.base, { 'x-forwarded-for': ip ?? `${options.network}.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}` });
  // After useListeningApp's beforeAll, which starts the app: hooks run in the order declared.
  beforeAll(async () => {
    for (const name of options.accounts ?? []) await newClient().register(name, 'the right password');
  });
  return {
    get t() {
      return served.t;
    },
    get base() {
      return served.base;
    },
    newClient,
    async lockOut(login, lastTry = 'the right password') {
      for (let i = 0; i < ACCOUNT_FAILURES; i++) expect((await newClient().signIn(login, `a guess ${i}`)).status).toBe(401);
      const refused = await newClient().signIn(login, lastTry);
      expect(refused.status).toBe(429);
      return refused;
    },
    async signedInBrowser(login, password, ip) {
      const browser = newClient(ip);
      expect((await browser.signIn(login, password)).status).toBe(303);
      expect(browser.cookies.get('pg_device')).toBeDefined();
      return browser;
    },
  };
}
