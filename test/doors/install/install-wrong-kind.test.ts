import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { LINK_TOKEN_FORMAT } from '../../../src/doors/install/link-tokens.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, type MattermostUser } from './install-helpers.js';

/**
 * Another door's grant fed to the install door: a generic grant's code in the link tokens' very
 * format (base32, 10 characters and a check character) typed as a link token, and a generic
 * grant's id as an installation id, are answered exactly as unknown ones: never a 500, never a hint.
 */
describe('install door given another door\'s grant', () => {
  let t: TestApp;
  let base: string;
  let mm: FakeMattermost;
  let inst: { id: string; secret: string };
  const mmAlice: MattermostUser = { id: mattermostId('aliceonmattermost'), username: 'alice.mm' };

  beforeAll(async () => {
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_GRANTS_CODE_ALPHABET: 'base32', PAIRGATE_GRANTS_CODE_LENGTH: '10', PAIRGATE_GRANTS_CODE_CHECK: 'true' });
    base = await t.listen();
    mm = new FakeMattermost(base, systemClock);
    const admin = await Member.create(base, 'kind-admin');
    const answer = await admin.setup(await admin.createOrg('Kinds'));
    inst = { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string };
    expect((await mm.install(inst.id, inst.secret, { id: mattermostId('sysadminuser'), username: 'sysadmin' })).status).toBe(200);
  });
  afterAll(() => t.close());

  it('answers a generic grant\'s code typed as a link token, and its id as an installation, as unknown ones', async () => {
    const response = await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'Open the door' }) });
    const generic = await response.json() as { id: string; code: string };
    // The same format, so the look-up is made (not refused as malformed before it).
    expect(LINK_TOKEN_FORMAT.parse(generic.code).ok).toBe(true);
    const link = (token: string) => mm.call(inst.id, 'link', inst.secret, mmAlice, { values: { token } });
    const got = await link(generic.code);
    const unknown = await link(LINK_TOKEN_FORMAT.format(LINK_TOKEN_FORMAT.generate()));
    expect(got.status).toBe(404);
    expect(got.body).toMatchObject({ type: 'error', data: { error: 'link_token_unknown' } });
    expect([got.status, got.body]).toEqual([unknown.status, unknown.body]);
    // The generic grant is untouched: still pending, its code still its own.
    expect(await (await fetch(`${base}/api/v1/grants/${generic.id}`)).json()).toMatchObject({ state: 'pending' });

    const byId = await mm.call(generic.id, 'link', inst.secret, mmAlice, { values: { token: generic.code } });
    const byUnknownId = await mm.call('a'.repeat(generic.id.length), 'link', inst.secret, mmAlice, { values: { token: generic.code } });
    expect(byId.status).toBeLessThan(500);
    expect([byId.status, byId.body]).toEqual([byUnknownId.status, byUnknownId.body]);
  });
});
