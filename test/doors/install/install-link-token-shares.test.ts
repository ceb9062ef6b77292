import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { INSTALL_ENV, installConnector, Member } from './install-helpers.js';

/**
 * The live cap on link tokens is server-wide (the brute-force budget is computed with it), and
 * any registered account may make tokens in an organization of its own: without shares of it,
 * one person (or a few addresses) holding every place for the tokens' lifetime stopped every
 * other organization from linking anyone. Each account and each network now holds a few at most.
 */
describe('install link tokens: one account or one network cannot take the whole server\'s cap', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({
      ...INSTALL_ENV,
      PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS: '20',
      PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_USER: '3',
      PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_IP: '8',
    });
    base = await t.listen();
  }, 60_000);
  afterAll(() => t.close());

  it('an account holds at most its share of live tokens (429 too_many_link_tokens); others still get theirs', async () => {
    const hog = await Member.create(base, 'hogger');
    const hogOrg = await hog.createOrg('Hog');
    await installConnector(base, hog, hogOrg);
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await hog.linkToken(hogOrg));
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(3);
    const refused = answers.find((answer) => answer.status !== 201)!;
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'too_many_link_tokens' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    const victim = await Member.create(base, 'victim');
    const victimOrg = await victim.createOrg('Victim');
    await installConnector(base, victim, victimOrg);
    expect((await victim.linkToken(victimOrg)).status).toBe(201);
  });

  it('a network holds at most its share, whichever accounts ask', async () => {
    // 127.0.0.1 already holds 4 (the test above); two more accounts from it take the 4 left.
    const statuses: number[] = [];
    for (const name of ['second', 'third']) {
      const member = await Member.create(base, name);
      const org = await member.createOrg(`Org ${name}`);
      await installConnector(base, member, org);
      for (let i = 0; i < 3; i++) {
        const answer = await member.linkToken(org);
        statuses.push(answer.status);
        if (answer.status !== 201) expect(answer.body).toMatchObject({ error: 'too_many_link_tokens' });
      }
    }
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
  });
});
