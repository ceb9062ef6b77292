import { describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { passwordChangeHooks } from '../../../src/doors/accounts/password-change-hooks.js';
import { UserStore } from '../../../src/doors/accounts/users.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { sqlAppSetups } from '../../helpers/sql-app-setups.js';
import { authRequest, FormClient, getJson, postJson } from '../access/form-client.js';
import { outboxMails, resetToken } from '../access/outbox.js';
import { decideInBrowser, DEVICE_ENV, INTROSPECTION_AUTH } from '../device/device-helpers.js';

/**
 * A new password ended the account's sessions, reset links and device cookies, but not the device
 * door's token families nor the access door's app accesses: whoever stole the password approved a
 * device of their own, or consented an app of their own, and kept it after the owner reset the
 * password, which is exactly what a person does who fears their password is known. A reset by
 * mailed link now ends both, in the transaction that writes the password; a change while signed in
 * does when its box "Also disconnect my devices and apps" is checked (at first it is; a program
 * that leaves the field out gets the same), and keeps them when it is unchecked. A device approved
 * with the old password and redeemed after the new one is refused, whichever way (it holds no
 * token yet, and is connected again in a minute).
 */

const PASSWORD = 'the stolen password';
const NEW_PASSWORD = 'a brand new password';

/** POSTs a form over a socket and parses the JSON answer. */
async function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** What someone holding the password connected: a device's tokens, an app's token, and a device approved but not yet redeemed. */
interface Connected {
  accessToken: string;
  refreshToken: string;
  appToken: string;
  /** The device code of an approval the device has not redeemed yet. */
  heldCode: string;
}

const stores = await sqlAppSetups();

describe.each(stores)('a new password and the devices and apps of the account ($name)', ({ skip, useApp }) => {
  const server = useApp(DEVICE_ENV);

  /** Starts a device authorization and approves it in a browser signed in with the password. */
  async function approvedDevice(username: string): Promise<string> {
    const device = (await postForm(`${server.base}/oauth/device_authorization`, { client_id: 'cli', scope: 'read' })).body as { device_code: string; user_code: string };
    const decided = await decideInBrowser(server.base, device.user_code, username, PASSWORD);
    expect(decided.done).toContain('data-outcome="approved"');
    return device.device_code;
  }

  /** Redeems an approved device code. */
  const redeem = (deviceCode: string) => postForm(`${server.base}/oauth/token`, { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: 'cli' });

  /** Registers `username` (the owner, signed in) and connects, with the password, a device and an app of someone else's. */
  async function ownerAndIntruder(username: string): Promise<{ owner: FormClient; connected: Connected }> {
    const owner = new FormClient(server.base);
    await owner.register(username, PASSWORD);
    const redeemed = await redeem(await approvedDevice(username));
    expect(redeemed.status).toBe(200);
    const intruder = new FormClient(server.base);
    expect((await intruder.signIn(username, PASSWORD)).status).toBe(303);
    const created = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'intruder-app' }));
    await intruder.decide(String(created.body.key), 'accept');
    const polled = await getJson(String(created.body.poll));
    expect(polled.body.status).toBe('ACCEPTED');
    const heldCode = await approvedDevice(username);
    return { owner, connected: { accessToken: String(redeemed.body.access_token), refreshToken: String(redeemed.body.refresh_token), appToken: String(polled.body.token), heldCode } };
  }

  /**
   * Whether each thing connected still opens the account: the device's access token, its refresh
   * token (rotated when it works: `connected` then holds the new one, as the device would), the app's token.
   */
  async function stillWorking(username: string, connected: Connected): Promise<{ access: boolean; refresh: boolean; app: boolean }> {
    const introspected = await postForm(`${server.base}/oauth/introspect`, { token: connected.accessToken }, INTROSPECTION_AUTH);
    const info = await getJson(`${server.base}/${username}/access-info`, { authorization: connected.appToken });
    const refreshed = await postForm(`${server.base}/oauth/token`, { grant_type: 'refresh_token', refresh_token: connected.refreshToken, client_id: 'cli' });
    if (refreshed.status === 200) {
      connected.refreshToken = String(refreshed.body.refresh_token);
      connected.accessToken = String(refreshed.body.access_token);
    }
    return { access: introspected.body.active === true, refresh: refreshed.status === 200, app: info.status === 200 };
  }

  /** Resets the password of `username` by the mailed link, in a browser of its own; the page once done. */
  async function resetByMail(username: string, lang = 'en'): Promise<string> {
    const browser = new FormClient(server.base);
    await browser.get('/account/reset');
    await browser.post('/account/reset', { login: username });
    await accountsOf({ server: server.t.app }).parts.afterAnswer.idle();
    const token = resetToken(outboxMails(server.t.config.PAIRGATE_DATA_DIR).at(-1)!);
    await browser.get(`/account/reset/confirm?token=${token}&lang=${lang}`);
    const done = await browser.post('/account/reset/confirm', { token, password: NEW_PASSWORD, lang });
    expect(done.status).toBe(200);
    return done.text;
  }

  /** What the owner's devices and accesses pages list after. */
  async function pagesOf(owner: FormClient): Promise<{ devices: string; accesses: string }> {
    return { devices: (await owner.get('/account/devices')).text, accesses: (await owner.get('/account/accesses')).text };
  }

  it.skipIf(skip)('a reset by mailed link ends every device and app of the account, and an approval not yet redeemed; the page says what went', async () => {
    const { connected } = await ownerAndIntruder('reset-victim');
    expect(await stillWorking('reset-victim', connected)).toEqual({ access: true, refresh: true, app: true });

    const page = await resetByMail('reset-victim');
    expect(page).toContain('We also disconnected 1 app and 1 device.');

    expect(await stillWorking('reset-victim', connected)).toEqual({ access: false, refresh: false, app: false });
    // Approved with the old password, redeemed after the new one: refused, and nothing issued.
    const late = await redeem(connected.heldCode);
    expect(late.status).toBe(400);
    expect(late.body).toMatchObject({ error: 'access_denied' });
    expect(late.body.error_description).toContain('password changed after the approval');

    const owner = new FormClient(server.base);
    expect((await owner.signIn('reset-victim', NEW_PASSWORD)).status).toBe(303);
    const { devices, accesses } = await pagesOf(owner);
    expect(devices).toContain('No device is connected to your account.');
    expect(accesses).toContain('No app has access to your account.');
  });

  it.skipIf(skip)('says so in French', async () => {
    await ownerAndIntruder('reset-victim-fr');
    expect(await resetByMail('reset-victim-fr', 'fr')).toContain('Nous avons aussi déconnecté 1 application et 1 appareil.');
  });

  it.skipIf(skip)('a change with the box checked (as the form shows it) does the same', async () => {
    const { owner, connected } = await ownerAndIntruder('change-checked');
    const form = await owner.get('/account/password');
    expect(form.text).toMatch(/<input type="checkbox" id="disconnect" name="disconnect" value="true"[^>]* checked>/);
    expect(form.text).toContain('Also disconnect my devices and apps');
    const changed = await owner.post('/account/password', { current: PASSWORD, password: NEW_PASSWORD, disconnectAsked: 'true', disconnect: 'true' });
    expect(changed.status).toBe(200);
    expect(changed.text).toContain('We also disconnected 1 app and 1 device.');
    expect(await stillWorking('change-checked', connected)).toEqual({ access: false, refresh: false, app: false });
    expect((await redeem(connected.heldCode)).body).toMatchObject({ error: 'access_denied' });
    // The owner's own browser stays signed in, and its pages list nothing.
    const { devices, accesses } = await pagesOf(owner);
    expect(devices).toContain('No device is connected to your account.');
    expect(accesses).toContain('No app has access to your account.');
  });

  it.skipIf(skip)('a change that leaves the field out (a program) disconnects too: true unless said false', async () => {
    const { owner, connected } = await ownerAndIntruder('change-default');
    await owner.get('/account/password');
    const changed = await owner.post('/account/password', { current: PASSWORD, password: NEW_PASSWORD });
    expect(changed.text).toContain('We also disconnected 1 app and 1 device.');
    expect(await stillWorking('change-default', connected)).toEqual({ access: false, refresh: false, app: false });
  });

  it.skipIf(skip)('a change with the box unchecked keeps the devices and apps connected; an approval not yet redeemed still ends with the old password', async () => {
    const { owner, connected } = await ownerAndIntruder('change-unchecked');
    await owner.get('/account/password');
    // A browser sends nothing for a box unchecked: the form's `disconnectAsked` says it was there.
    const changed = await owner.post('/account/password', { current: PASSWORD, password: NEW_PASSWORD, disconnectAsked: 'true' });
    expect(changed.status).toBe(200);
    expect(changed.text).toContain('Your devices and apps stay connected.');
    expect(await stillWorking('change-unchecked', connected)).toEqual({ access: true, refresh: true, app: true });
    // Not a device yet (it holds no token): approved under the old password, it must start again.
    expect((await redeem(connected.heldCode)).body).toMatchObject({ error: 'access_denied' });
  });

  it.skipIf(skip)('a device approval whose sign-in a new password ends between its session check and its stamp read is refused, and the device gets nothing', async () => {
    const owner = new FormClient(server.base);
    await owner.register('stamp-window', PASSWORD);
    const device = (await postForm(`${server.base}/oauth/device_authorization`, { client_id: 'cli', scope: 'read' })).body as { device_code: string; user_code: string };
    const browser = new FormClient(server.base);
    await browser.get('/device');
    const typed = await browser.post('/device', { user_code: device.user_code });
    const signin = await browser.get(typed.location!);
    const key = /name="key" value="([^"]+)"/.exec(signin.text)![1]!;
    const signedIn = await browser.post('/device/signin', { key, login: 'stamp-window', password: PASSWORD });
    await browser.get(signedIn.location!);
    // The reset lands once the approval has found its session, just before it reads the password's stamp.
    const read = UserStore.prototype.passwordStampOf;
    let armed = true;
    UserStore.prototype.passwordStampOf = async function (this: UserStore, ...args: Parameters<UserStore['passwordStampOf']>) {
      if (armed) {
        armed = false;
        await resetByMail('stamp-window');
      }
      return read.apply(this, args);
    };
    let done;
    try {
      done = await browser.post('/device/decide', { key, decision: 'approve' });
    } finally {
      UserStore.prototype.passwordStampOf = read;
    }
    expect(armed).toBe(false);
    expect(done.status).toBe(401);
    expect(done.text).not.toContain('data-outcome="approved"');
    expect((await redeem(device.device_code)).body).toMatchObject({ error: 'authorization_pending' });
  });

  it.skipIf(skip)('the sessions and reset links end in the transaction that writes the new password', async () => {
    const owner = new FormClient(server.base);
    await owner.register('same-transaction', PASSWORD);
    const other = new FormClient(server.base);
    expect((await other.signIn('same-transaction', PASSWORD)).status).toBe(303);
    // A hook runs in that transaction: what it sees there is what any other reader sees once it commits.
    let seen: number | undefined;
    passwordChangeHooks(server.t.app.pairgate).add(async (trx, userId) => {
      const row = await trx.selectFrom('account_sessions').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
      seen = Number(row.n);
      return { count: 0, words: () => '' };
    });
    await resetByMail('same-transaction');
    expect(seen).toBe(0);
  });

  it.skipIf(skip)('a change that disconnects when nothing was connected says so', async () => {
    const owner = new FormClient(server.base);
    await owner.register('nothing-connected', PASSWORD);
    await owner.get('/account/password');
    const changed = await owner.post('/account/password', { current: PASSWORD, password: NEW_PASSWORD, disconnectAsked: 'true', disconnect: 'true' });
    expect(changed.text).toContain('No device or app was connected to your account.');
  });
});
