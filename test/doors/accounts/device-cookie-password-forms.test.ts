import { describe, expect, it } from 'vitest';
import { FormClient } from '../access/form-client.js';
import { useDeviceCookieApp } from './device-cookie-helpers.js';

/** The alert of a page. */
const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];

/** The status line of a page (a form done). */
const statusOf = (html: string): string | undefined => /role="status"[^>]*>([^<]+)</.exec(html)?.[1];

/** The words of the forms' refusal for a spent budget, the same with or without a device cookie. */
const LIMITED = 'Too many attempts. Try again in 15 minutes.';

/**
 * A browser on a network of its own that sends its device cookie only where a browser would: to
 * the paths the server set it for (FormClient sends every cookie everywhere).
 */
class Browser extends FormClient {
  /** The paths of the device cookie the server last gave. */
  devicePaths: string[] = [];

  /** Signs in on the account page and notes the device cookie's paths. */
  override async signIn(login: string, password: string): ReturnType<FormClient['signIn']> {
    await this.get('/account/signin');
    const answer = await super.post('/account/signin', { login, password });
    const lines = answer.headers.getSetCookie().filter((line) => line.startsWith('pg_device='));
    if (lines.length > 0) this.devicePaths = lines.map((line) => /Path=([^;]+)/i.exec(line)?.[1] ?? '/');
    return answer;
  }

  /** {@link signIn}'s status. */
  async signInHere(login: string, password: string): Promise<number> {
    return (await this.signIn(login, password)).status;
  }

  /** A form post, with the device cookie only when its path is one the cookie was set for (RFC 6265 5.1.4). */
  override async post(path: string, fields: Record<string, string>): ReturnType<FormClient['post']> {
    const device = this.cookies.get('pg_device');
    const sent = this.devicePaths.some((under) => path === under || path.startsWith(`${under}/`));
    if (device !== undefined && !sent) this.cookies.delete('pg_device');
    try {
      return await super.post(path, fields);
    } finally {
      if (device !== undefined && !sent && !this.cookies.has('pg_device')) this.cookies.set('pg_device', device);
    }
  }

  /** Changes the password on the form of that name. */
  async changePassword(current: string, password: string): ReturnType<FormClient['post']> {
    await this.get('/account/password');
    return this.post('/account/password', { current, password });
  }

  /** Deletes the account on the form of that name. */
  async deleteAccount(password: string): ReturnType<FormClient['post']> {
    await this.get('/account/delete');
    return this.post('/account/delete', { password });
  }
}

/**
 * A targeted lock-out of the forms that check a signed-in person's current password again:
 * guesses from other networks spend the account's failure budget, and its owner, signed in on a
 * browser holding the account's device cookie, must still change the password (the way out) or
 * delete the account; that browser's failures count on its own budget, as its sign-ins do.
 */
describe('device cookies on the change-password and delete-account forms', () => {
  const app = useDeviceCookieApp({
    Client: Browser,
    network: '10.47',
    env: { PAIRGATE_SIGNIN_FAILURES_PER_IP: '6' },
    accounts: ['changer', 'deleter', 'typist', 'thief', 'other-account'],
  });
  const { newClient: newBrowser, lockOut } = app;
  /** A browser signed in to `login`, holding its device cookie (`withCookie`) or not. */
  const signedIn = async (login: string, withCookie: boolean) => {
    const browser = await app.signedInBrowser(login, 'the right password');
    if (!withCookie) browser.cookies.delete('pg_device');
    return browser;
  };

  it('sends the device cookie to both forms\' posts', async () => {
    const laptop = await signedIn('other-account', true);
    expect(laptop.devicePaths).toEqual(expect.arrayContaining(['/account/password', '/account/delete']));
  });

  it('lets the owner change the password from the trusted browser while the account is locked; a browser without the cookie is refused', async () => {
    const laptop = await signedIn('changer', true);
    const elsewhere = await signedIn('changer', false);
    await lockOut('changer');
    const refused = await elsewhere.changePassword('the right password', 'a brand new password');
    expect(refused.status).toBe(429);
    expect(alertOf(refused.text)).toBe(LIMITED);
    const changed = await laptop.changePassword('the right password', 'a brand new password');
    expect(changed.status).toBe(200);
    expect(statusOf(changed.text)).toBe('Your password has been changed. Every other session of your account has been signed out. No device or app was connected to your account.');
    // The new password is the account's: the trusted browser signs in with it, locked or not.
    expect(await laptop.signInHere('changer', 'a brand new password')).toBe(303);
  });

  it('lets the owner delete the account from the trusted browser while the account is locked; a browser without the cookie is refused', async () => {
    const laptop = await signedIn('deleter', true);
    const elsewhere = await signedIn('deleter', false);
    await lockOut('deleter');
    const refused = await elsewhere.deleteAccount('the right password');
    expect(refused.status).toBe(429);
    expect(alertOf(refused.text)).toBe(LIMITED);
    const deleted = await laptop.deleteAccount('the right password');
    expect(deleted.status).toBe(200);
    expect(statusOf(deleted.text)).toBe('Your account has been deleted.');
    expect(await newBrowser().signInHere('deleter', 'the right password')).toBe(401);
  });

  it('counts the trusted browser\'s wrong current passwords on its own budget; once spent, it is refused like any other', async () => {
    const laptop = await signedIn('typist', true);
    for (let i = 0; i < 2; i++) {
      const wrong = await laptop.changePassword(`my typo ${i}`, 'a brand new password');
      expect(wrong.status).toBe(401);
      expect(alertOf(wrong.text)).toBe('The current password is wrong.');
    }
    // The device's budget (2) is spent, the account's untouched: anyone else still signs in.
    expect(await newBrowser().signInHere('typist', 'the right password')).toBe(303);
    // Spent, the device is untrusted for the window: counted on, and refused by, the account's budget.
    await lockOut('typist');
    const refused = await laptop.deleteAccount('the right password');
    expect(refused.status).toBe(429);
    expect(alertOf(refused.text)).toBe(LIMITED);
  });

  it('gives no way past the lock to another account\'s cookie', async () => {
    const stolen = await signedIn('thief', false);
    stolen.cookies.set('pg_device', (await signedIn('other-account', true)).cookies.get('pg_device')!);
    stolen.devicePaths = ['/account/password', '/account/delete'];
    await lockOut('thief');
    const refused = await stolen.changePassword('the right password', 'a brand new password');
    expect(refused.status).toBe(429);
    expect(alertOf(refused.text)).toBe(LIMITED);
  });
});
