import { beforeAll, describe, expect, it } from 'vitest';
import { LINK_TOKEN_FORMAT } from '../../../src/doors/install/link-tokens.js';
import { callRequest, installConnector, mattermostId, mattermostJwt, useOrgOfTwo, type Answer, type MattermostUser } from './install-helpers.js';

/**
 * A captured link or unlink call (its call token and body) is the same call however its body is
 * spelt: pairgate remembers what a call means (installation, call token, route, acting user, the
 * link token as it reads it), not its bytes, so a copy with a byte changed that pairgate does not
 * act on is refused as replayed. Real sockets, a manual clock that stands still unless advanced, so
 * calls made "in the same second" carry the same token, as they would from Mattermost.
 */
describe('install door: a Mattermost call re-sent in another spelling is the same call (real sockets, manual clock)', () => {
  const org = useOrgOfTwo('meaning', 'Meaning Org');
  let inst: { id: string; secret: string };

  beforeAll(async () => {
    inst = await installConnector(org.base, org.admin, org.orgId, 'mattermost', org.clock);
  });

  /** The body of a call as Mattermost sends it, parsed: each test spells it its own way. */
  const bodyOf = (call: string, user: MattermostUser, values?: Record<string, unknown>): Record<string, unknown> =>
    callRequest(`/mattermost/${inst.id}/${call}`, user, { ...(values ? { values } : {}) });

  /** Sends `raw` to `call` under call token `jwt`, byte for byte. */
  const send = async (call: string, jwt: string, raw: string): Promise<Answer> => {
    const response = await fetch(`${org.base}/mattermost/${inst.id}/${call}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${jwt}` },
      body: raw,
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  };

  /** A second passes, as between a person's commands: Mattermost signs a new call token. */
  const nextSecond = () => org.clock.advance(1000);
  const jwtOf = (user: MattermostUser) => mattermostJwt(inst.secret, user.id, org.clock);
  const tokenOf = async () => (await org.member.linkToken(org.orgId)).body.token as string;
  /** A call the way Mattermost makes it, in a second of its own. */
  const fresh = async (call: string, user: MattermostUser, values?: Record<string, unknown>): Promise<Answer> => {
    nextSecond();
    return send(call, await jwtOf(user), JSON.stringify(bodyOf(call, user, values)));
  };
  const statusOf = async (user: MattermostUser) => (await fresh('status', user)).body.data;
  const outcomeOf = (answer: Answer) => `${answer.status} ${answer.body.data?.error ?? JSON.stringify(answer.body.data)}`;

  /** The same object with the keys of every object in it in reverse order. */
  const reversed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reversed);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).reverse().map(([key, inner]) => [key, reversed(inner)]));
  };

  /** Spellings of one body that mean to pairgate what it means: bytes it does not act on changed. */
  const respellings: [string, (body: Record<string, unknown>) => string][] = [
    ['whitespace added', (body) => `\n ${JSON.stringify(body, null, 3)} \n`],
    ['keys reordered', (body) => JSON.stringify(reversed(body))],
    ['an unknown field added', (body) => JSON.stringify({ ...body, replayed_by: 'someone' })],
    ['a field pairgate does not read changed', (body) => JSON.stringify({ ...body, context: { ...(body.context as object), location: '/elsewhere', channel_id: mattermostId('otherchannel') } })],
  ];

  for (const [spelling, respell] of respellings) {
    it(`a captured unlink re-sent with ${spelling}, after the user linked again, is 409 call_replayed and the link stays`, async () => {
      const user = { id: mattermostId(`unlink${spelling}`), username: 'ulla' };
      expect((await fresh('link', user, { token: await tokenOf() })).body.data.linked).toBe(true);
      nextSecond();
      const unlinkJwt = await jwtOf(user);
      const unlink = bodyOf('unlink', user);
      expect((await send('unlink', unlinkJwt, JSON.stringify(unlink))).body.data).toEqual({ linked: false, unlinked: true });
      expect((await fresh('link', user, { token: await tokenOf() })).body.data.linked).toBe(true);

      // Minutes later, the token still live: the copy, another spelling of the same unlink.
      org.clock.advance(5 * 60_000);
      const raw = respell(unlink);
      expect(raw).not.toBe(JSON.stringify(unlink));
      expect(outcomeOf(await send('unlink', unlinkJwt, raw))).toBe('409 call_replayed');
      expect(await statusOf(user)).toMatchObject({ linked: true, username: 'meaning-member' });
    });
  }

  /** Spellings of a link token that pairgate reads as the same token. */
  const tokenSpellings = (token: string): [string, string][] => [
    ['upper case', token.toUpperCase()],
    ['spaces for dashes', token.replaceAll('-', ' ')],
    ['no dashes', token.replaceAll('-', '')],
    ['in backticks, spaces around', `  \`${token}\` `],
    ['mixed case, in quotes', `"${[...token].map((char, i) => (i % 2 ? char.toUpperCase() : char)).join('')}"`],
  ];

  it('a link re-sent with its token in another spelling pairgate reads is 409 call_replayed, not a new call', async () => {
    const user = { id: mattermostId('linkspelling'), username: 'lino' };
    nextSecond();
    const linkJwt = await jwtOf(user);
    const token = await tokenOf();
    expect((await send('link', linkJwt, JSON.stringify(bodyOf('link', user, { token })))).body.data).toEqual({ linked: true, username: 'meaning-member' });
    expect((await fresh('unlink', user)).body.data.unlinked).toBe(true);
    for (const [spelling, typed] of tokenSpellings(token)) {
      expect(typed, spelling).not.toBe(token);
      // Not link_token_used: the same call, refused before the token is looked up.
      expect(outcomeOf(await send('link', linkJwt, JSON.stringify(bodyOf('link', user, { token: typed })))), spelling).toBe('409 call_replayed');
    }
    expect(await statusOf(user)).toEqual({ linked: false });
  });

  it('a captured link with a wrong token, re-sent in other spellings, counts one wrong guess, not one per spelling', async () => {
    const user = { id: mattermostId('guessspelling'), username: 'gus' };
    nextSecond();
    const linkJwt = await jwtOf(user);
    // Well formed (its check character right), made by no one: a wrong guess, which keeps its claim.
    const wrong = LINK_TOKEN_FORMAT.generate();
    expect(outcomeOf(await send('link', linkJwt, JSON.stringify(bodyOf('link', user, { token: wrong }))))).toBe('404 link_token_unknown');
    // Five wrong guesses lock a chat user out of linking for a while: each spelling counted as one
    // more would have locked this user out with one captured typo.
    for (const [spelling, typed] of tokenSpellings(wrong)) {
      expect(outcomeOf(await send('link', linkJwt, JSON.stringify(bodyOf('link', user, { token: typed })))), spelling).toBe('409 call_replayed');
    }
    expect((await fresh('link', user, { token: await tokenOf() })).body.data).toEqual({ linked: true, username: 'meaning-member' });
  });

  it('two links with different link tokens under one call token both run', async () => {
    const user = { id: mattermostId('twotokens'), username: 'tess' };
    nextSecond();
    const jwt = await jwtOf(user);
    const adminToken = (await org.admin.linkToken(org.orgId)).body.token as string;
    expect((await send('link', jwt, JSON.stringify(bodyOf('link', user, { token: await tokenOf() })))).body.data).toEqual({ linked: true, username: 'meaning-member' });
    expect((await send('link', jwt, JSON.stringify(bodyOf('link', user, { token: adminToken })))).body.data).toEqual({ linked: true, username: 'meaning-admin', replaced: 'meaning-member' });
  });

  it('a call refused for its body or its acting user takes no claim: the good call meaning the same, under the same token, runs after it', async () => {
    const user = { id: mattermostId('claimorder'), username: 'clara' };
    const other = { id: mattermostId('claimother'), username: 'otto' };
    expect((await fresh('link', user, { token: await tokenOf() })).body.data.linked).toBe(true);
    nextSecond();
    const jwt = await jwtOf(user);
    const unlink = bodyOf('unlink', user);
    const context = unlink.context as Record<string, unknown>;
    const refused: [string, Record<string, unknown>, string][] = [
      ['a field the schema refuses', { ...unlink, context: { ...context, location: 'x'.repeat(300) } }, '400 validation_failed'],
      ['another acting user than the token', { ...unlink, context: { ...context, acting_user: { id: other.id, username: other.username } } }, '401 acting_user_mismatch'],
      ['acting_user.id and acting_user_id disagreeing', { ...unlink, context: { ...context, acting_user_id: other.id } }, '401 acting_user_mismatch'],
    ];
    for (const [why, body, expected] of refused) expect(outcomeOf(await send('unlink', jwt, JSON.stringify(body))), why).toBe(expected);
    expect((await send('unlink', jwt, JSON.stringify(unlink))).body.data).toEqual({ linked: false, unlinked: true });

    // A link whose values the schema refuses, then the good link under the same token.
    nextSecond();
    const linkJwt = await jwtOf(user);
    expect(outcomeOf(await send('link', linkJwt, JSON.stringify(bodyOf('link', user, { token: 12345 }))))).toBe('400 validation_failed');
    expect((await send('link', linkJwt, JSON.stringify(bodyOf('link', user, { token: await tokenOf() })))).body.data).toEqual({ linked: true, username: 'meaning-member' });
  });
});
