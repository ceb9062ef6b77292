import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { callRequest, FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, mattermostJwt, type Answer, type MattermostUser } from './install-helpers.js';

/**
 * Mattermost call tokens carry only `acting_user_id` and `exp` (15 minutes, whole seconds): no
 * `jti`, nothing of the body. A captured link or unlink call could be sent again while its token
 * lives; pairgate remembers what each such call means (token, route, acting user, link token)
 * until then and refuses it the second time, however it is spelt (other spellings:
 * install-mattermost-replay-meaning.test.ts). Everything here runs on a manual clock that stands still unless advanced, so
 * calls made "in the same second" carry the same token, as they would from Mattermost.
 */
describe('install door: replayed Mattermost calls (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let member: Member;
  let orgId: string;
  let mm: FakeMattermost;
  let inst: { id: string; secret: string };
  const mmAdmin: MattermostUser = { id: mattermostId('replayadmin'), username: 'sysadmin' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400) }, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'replay-admin');
    member = await Member.create(base, 'replay-member');
    orgId = await admin.createOrg('Replays');
    await admin.addMember(orgId, 'replay-member');
    const setup = await admin.setup(orgId);
    inst = { id: installationIdOf(setup.body.manifest_link), secret: setup.body.jwt_secret as string };
    expect((await mm.install(inst.id, inst.secret, mmAdmin)).status).toBe(200);
  });
  afterAll(() => t.close());

  /** The exact bytes of a call, as Mattermost would send them. */
  const bodyOf = (call: string, user: MattermostUser, values?: Record<string, unknown>): string =>
    JSON.stringify(callRequest(`/mattermost/${inst.id}/${call}`, user, { ...(values ? { values } : {}) }));

  /** Sends `raw` to `call` under call token `jwt`, byte for byte. */
  const send = async (call: string, jwt: string, raw: string): Promise<Answer> => {
    const response = await fetch(`${base}/mattermost/${inst.id}/${call}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${jwt}` },
      body: raw,
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  };

  /** A second passes, as between a person's commands: Mattermost signs a new call token. */
  const nextSecond = () => clock.advance(1000);
  const tokenOf = async (who: Member) => (await who.linkToken(orgId)).body.token as string;
  const statusOf = async (user: MattermostUser) => {
    nextSecond();
    return (await mm.call(inst.id, 'status', inst.secret, user)).body.data;
  };
  const expectReplayed = (answer: Answer) => {
    expect(answer.status).toBe(409);
    // Said to a person who ran one command twice within a second: the first ran, so not "run it again".
    expect(answer.body).toEqual({ type: 'error', text: 'This same call was already received and run once; it was not run a second time. /pairgate status says where you stand.', data: { error: 'call_replayed' } });
  };

  /**
   * `user` links, unlinks by a call captured here (its token and body, returned), and links again:
   * the captured unlink, if it ran again, would undo the second link.
   */
  const linkUnlinkLink = async (user: MattermostUser): Promise<{ unlinkJwt: string; unlink: string }> => {
    nextSecond();
    expect((await mm.call(inst.id, 'link', inst.secret, user, { values: { token: await tokenOf(member) } })).body.data.linked).toBe(true);
    nextSecond();
    const unlinkJwt = await mattermostJwt(inst.secret, user.id, clock);
    const unlink = bodyOf('unlink', user);
    expect((await send('unlink', unlinkJwt, unlink)).body.data).toEqual({ linked: false, unlinked: true });
    nextSecond();
    expect((await mm.call(inst.id, 'link', inst.secret, user, { values: { token: await tokenOf(member) } })).body.data.linked).toBe(true);
    return { unlinkJwt, unlink };
  };

  it('the same signed unlink twice: the second is 409 call_replayed and unlinks nothing', async () => {
    const user = { id: mattermostId('replayunlink'), username: 'ulla' };
    // The captured unlink, played again minutes after the person linked again, is refused.
    const { unlinkJwt, unlink } = await linkUnlinkLink(user);
    clock.advance(5 * 60_000);
    expectReplayed(await send('unlink', unlinkJwt, unlink));
    expect(await statusOf(user)).toMatchObject({ linked: true, username: 'replay-member' });
  });

  it('the same signed link twice: the second is 409 call_replayed, refused before the token is looked at, and links nothing', async () => {
    const user = { id: mattermostId('replaylink'), username: 'lino' };
    nextSecond();
    const linkJwt = await mattermostJwt(inst.secret, user.id, clock);
    const link = bodyOf('link', user, { token: await tokenOf(member) });
    expect((await send('link', linkJwt, link)).body.data).toEqual({ linked: true, username: 'replay-member' });

    nextSecond();
    expect((await mm.call(inst.id, 'unlink', inst.secret, user)).body.data.unlinked).toBe(true);
    // Not link_token_used: the call is refused as a replay before anything else is done.
    expectReplayed(await send('link', linkJwt, link));
    expect(await statusOf(user)).toEqual({ linked: false });
  });

  it('the same unlink with its token\'s last character spelt otherwise (the bits base64url leaves unused) is the same call: 409 call_replayed', async () => {
    const user = { id: mattermostId('replayspelling'), username: 'selma' };
    const { unlinkJwt, unlink } = await linkUnlinkLink(user);
    // An HS256 signature is 32 bytes, 43 characters: the last one's lowest two bits decode to nothing.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelt = unlinkJwt.slice(0, -1) + alphabet[alphabet.indexOf(unlinkJwt.at(-1)!) ^ 1];
    expect(respelt).not.toBe(unlinkJwt);
    expect(Buffer.from(respelt.split('.')[2]!, 'base64url')).toEqual(Buffer.from(unlinkJwt.split('.')[2]!, 'base64url'));
    expectReplayed(await send('unlink', respelt, unlink));
    expect((await statusOf(user)).linked).toBe(true);
  });

  it('different calls under one call token (one user, one second) all go through; the same one again does not', async () => {
    const user = { id: mattermostId('replaysame'), username: 'sam' };
    nextSecond();
    const jwt = await mattermostJwt(inst.secret, user.id, clock);
    // Two links with two tokens, an unlink and a link again: four calls, one token, four routes or link tokens.
    expect((await send('link', jwt, bodyOf('link', user, { token: await tokenOf(member) }))).body.data).toEqual({ linked: true, username: 'replay-member' });
    expect((await send('link', jwt, bodyOf('link', user, { token: await tokenOf(admin) }))).body.data).toEqual({ linked: true, username: 'replay-admin', replaced: 'replay-member' });
    expect((await send('unlink', jwt, bodyOf('unlink', user))).body.data).toEqual({ linked: false, unlinked: true });
    expect((await send('link', jwt, bodyOf('link', user, { token: await tokenOf(member) }))).body.data).toEqual({ linked: true, username: 'replay-member' });
    // The same person's unlink from another channel in that second means the same: the channel is
    // nothing pairgate acts on. (Unlinking, linking and unlinking again within one second is no
    // one's typing; a captured unlink re-sent with a byte changed would be.)
    const elsewhere = JSON.stringify(callRequest(`/mattermost/${inst.id}/unlink`, user, { context: { channel_id: mattermostId('otherchannel') } }));
    expectReplayed(await send('unlink', jwt, elsewhere));
    // Another user's identical-looking call carries another token.
    const other = { id: mattermostId('replayother'), username: 'otto' };
    expect((await send('unlink', await mattermostJwt(inst.secret, other.id, clock), bodyOf('unlink', other))).status).toBe(200);
  });

  it('calls Mattermost may repeat identically are answered every time: bindings, install, ping, status, help', async () => {
    nextSecond();
    const jwt = await mattermostJwt(inst.secret, mmAdmin.id, clock);
    const install = JSON.stringify(callRequest(`/mattermost/${inst.id}/install`, mmAdmin, { context: { mattermost_site_url: 'https://chat.example.test', bot_user_id: mattermostId('botpairgate'), bot_access_token: 'bot-token-0123456789abcdefghij' } }));
    for (let i = 0; i < 3; i++) {
      expect((await send('bindings', jwt, bodyOf('bindings', mmAdmin))).body.type, 'bindings').toBe('ok');
      expect((await send('install', jwt, install)).body.type, 'install').toBe('ok');
      expect((await send('ping', jwt, bodyOf('ping', mmAdmin))).body.type, 'ping').toBe('ok');
      expect((await send('status', jwt, bodyOf('status', mmAdmin))).body.type, 'status').toBe('ok');
      expect((await send('help', jwt, bodyOf('help', mmAdmin))).body.type, 'help').toBe('ok');
    }
  });

  it('a call is remembered, hashed, exactly as long as its token can pass; after that the token itself is refused', async () => {
    const user = { id: mattermostId('replaymemory'), username: 'mem' };
    nextSecond();
    const jwt = await mattermostJwt(inst.secret, user.id, clock);
    const exp = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).exp as number;
    const unlink = bodyOf('unlink', user);
    expect((await send('unlink', jwt, unlink)).status).toBe(200);
    const entries = await t.app.pairgate.stores.ephemeral.list(`mattermost-seen:${inst.id}:`, clock.now());
    const entry = entries.find((candidate) => candidate.expiresAt === (exp + 31) * 1000);
    expect(entry, JSON.stringify(entries)).toBeDefined();
    expect(entry!.key).not.toContain(jwt.split('.')[2]!);
    expect(entry!.key).not.toContain(user.id);

    // Until the token expires (with 30 s of leeway) the call is refused as a replay...
    clock.advance((exp + 30) * 1000 - 1 - clock.now());
    expectReplayed(await send('unlink', jwt, unlink));
    // ...and after, as an expired token: the memory is no longer needed.
    clock.advance(1);
    const late = await send('unlink', jwt, unlink);
    expect(late.status).toBe(401);
    expect(late.body.data.error).toBe('jwt_expired');
  });
});
