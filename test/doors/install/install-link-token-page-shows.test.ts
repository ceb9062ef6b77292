import { describe, expect, it } from 'vitest';
import { useOrgOfTwo } from './install-helpers.js';

/** The text of an element of the page, by id. */
function textOf(page: string, id: string): string | undefined {
  return new RegExp(`id="${id}">([^<]*)<`).exec(page)?.[1];
}

/**
 * A link token links whoever runs it to the account that made it, in the chat it was made for,
 * with no question asked in pairgate. So the page that shows it says, before the token leaves it,
 * which pairgate account and which chat server it links, and that it is not to be handed to
 * anyone: a person signed in to another account (a shared browser), or asked for "a code" by
 * someone else, sees what running it gives away.
 */
describe('install door: the link token page says whose account the token links, in which chat', () => {
  const org = useOrgOfTwo('shows', 'Shows Org', { mattermost: true });

  it('names the account, the chat server, and warns not to give the token away (English and French)', async () => {
    await org.member.get('/integrations');
    const page = await org.member.post(`/integrations/orgs/${org.orgId}/mattermost/link-token`, {});
    expect(page.status).toBe(200);
    expect(textOf(page.text, 'link-org')).toBe('Shows Org');
    expect(textOf(page.text, 'link-account')).toBe('shows-member');
    expect(textOf(page.text, 'link-site')).toBe('https://chat.example.test');
    expect(textOf(page.text, 'link-warning')).toBe('Whoever runs this command links their chat account to your pairgate account shows-member: run it yourself, and give the token to no one.');

    const french = await org.member.post(`/integrations/orgs/${org.orgId}/mattermost/link-token`, { lang: 'fr' });
    expect(french.status).toBe(200);
    expect(textOf(french.text, 'link-account')).toBe('shows-member');
    expect(textOf(french.text, 'link-warning')).toMatch(/^Quiconque lance cette commande lie son compte de messagerie à votre compte pairgate shows-member\s?: lancez-la vous-même, et ne donnez le jeton à personne\.$/);
  });

  it('the API answer is unchanged: the token and its organization, nothing more', async () => {
    const answer = await org.member.linkToken(org.orgId);
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body).sort()).toEqual(['expires_at', 'expires_in', 'org_id', 'org_name', 'token']);
  });
});
