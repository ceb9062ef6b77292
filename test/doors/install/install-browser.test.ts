import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSkipReason, settledForDecision } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId } from './install-helpers.js';

const skip = browserSkipReason();

describe.skipIf(Boolean(skip))(`install door pages in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const password = 'chromium password 1';
  /** The installation the admin's test set up from what the page showed (the member's test links through it). */
  let installed: { id: string; secret: string } | undefined;

  const suite = useBrowserApp(INSTALL_ENV, {
    prepare: async (t) => {
      await new Member(t.url).register('chromium-admin', password);
      await new Member(t.url).register('chromium-member', password);
    },
  });
  const open = () => suite.newPage();

  const signIn = async (page: Page, username: string) => {
    await page.goto(`${suite.url}/integrations`);
    await page.getByLabel('Username or e-mail').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Organizations and chat' }).waitFor();
  };

  it('the admin creates an organization, invites a member and sets up Mattermost: manifest link, secret and install command', async () => {
    const { page, problems } = await open();
    await signIn(page, 'chromium-admin');
    await page.getByLabel('Organization name').fill('Chromium Org');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#done').waitFor();
    await page.getByRole('heading', { name: 'Chromium Org' }).waitFor();
    await page.getByLabel('Username').fill('chromium-member');
    await page.getByRole('button', { name: 'Invite a member' }).click();
    await page.locator('#done').waitFor();
    // Invited, not yet a member: listed as pending until they accept.
    expect(await page.locator('ul.pending-invitations').textContent()).toContain('chromium-member (member), invited until');
    expect(await page.locator('ul.members').textContent()).not.toContain('chromium-member');

    await page.getByRole('button', { name: 'Set up Mattermost' }).click();
    await page.getByRole('heading', { name: 'Set up Mattermost' }).waitFor();
    const manifestLink = (await page.locator('#setup-manifest_link').textContent())!;
    const secret = (await page.locator('#setup-jwt_secret').textContent())!;
    const command = (await page.locator('#setup-install_command').textContent())!;
    expect(manifestLink).toMatch(new RegExp(`^${suite.url}/mattermost/[\\w-]{22}/manifest\\.json$`));
    expect(secret).toMatch(/^[\w-]{43}$/);
    expect(command).toBe(`/apps install http ${manifestLink}`);
    expect(await page.locator('#setup-expires').textContent()).toContain('UTC');

    // What the page showed works: Mattermost installs with it, and the page then says so.
    const mm = new FakeMattermost(suite.url, { now: () => Date.now() });
    installed = { id: installationIdOf(manifestLink), secret };
    const answer = await mm.install(installed.id, secret, { id: mattermostId('chromiumadmin'), username: 'admin' });
    expect(answer.body.text).toBe('Installed and linked with organization Chromium Org');
    await page.getByRole('link', { name: 'Back to the organizations' }).click();
    expect(await page.locator('ul.installations').textContent()).toContain('Mattermost: installed on https://chat.example.test');
    expect(problems).toEqual([]);
  });

  it('the invitee accepts, then makes a link token and /pairgate link with it links their Mattermost account', async () => {
    const { page, problems } = await open();
    await signIn(page, 'chromium-member');
    await page.locator('#invitations').getByText('Chromium Org').waitFor();
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.locator('#done').waitFor();
    expect(await page.locator('#invitations').count()).toBe(0);
    // A member sees no setup button, only the link token one, and no delete button.
    expect(await page.getByRole('button', { name: 'Set up Mattermost' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete this organization' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Create a Mattermost link token' }).click();
    await page.getByRole('heading', { name: 'Your link token' }).waitFor();
    const token = (await page.locator('#link-token').textContent())!;
    expect(token).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}-[0-9a-z]$/);
    expect(await page.locator('#link-command').textContent()).toBe(`/pairgate link ${token}`);

    const mm = new FakeMattermost(suite.url, { now: () => Date.now() });
    const linked = await mm.call(installed!.id, 'link', installed!.secret, { id: mattermostId('chromiummember'), username: 'member' }, { values: { token } });
    expect(linked.body).toMatchObject({ type: 'ok', data: { linked: true, username: 'chromium-member' } });
    // Back on the page, the member sees the link made from the chat.
    await page.getByRole('link', { name: 'Back to the organizations' }).click();
    expect(await page.locator('ul.links').textContent()).toContain('Mattermost: your chat account member is linked, since');
    expect(problems).toEqual([]);
  });

  /** What the page says of the element with the focus: its id, aria-invalid, and the text of what describes it. */
  const focused = (page: Page) => page.evaluate(`(() => {
    const el = document.activeElement;
    const described = (el.getAttribute('aria-describedby') || '').split(' ').map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
    return { id: el.id, invalid: el.getAttribute('aria-invalid'), described, value: el.value };
  })()`) as Promise<{ id: string; invalid: string | null; described: string; value: string }>;
  /** Computed styles of the element with `id` that tell whether it looks like the page's inputs. */
  const looks = (page: Page, id: string) => page.evaluate(`(() => {
    const style = getComputedStyle(document.getElementById(${JSON.stringify(id)}));
    return { width: style.width, borderRadius: style.borderRadius, border: style.borderTopColor + ' ' + style.borderTopWidth, padding: style.paddingLeft, fontSize: style.fontSize };
  })()`);

  it('a username the server refuses comes back on the same page, next to its field, focused, with what was typed; the role list looks like the inputs and speaks French', async () => {
    const { page, problems } = await open();
    await signIn(page, 'chromium-admin');
    await page.getByLabel('Organization name').fill('Typo Org');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('#done').waitFor();
    const section = page.locator('section.org', { has: page.getByRole('heading', { name: 'Typo Org', exact: true }) });
    await section.getByLabel('Username').fill('chromium membr');
    await section.getByLabel('Role').selectOption('admin');
    await section.getByRole('button', { name: 'Invite a member' }).click();
    await section.getByRole('alert').waitFor();
    // The same page (no separate message page, no "Back" link), the field focused and tied to its error.
    await page.getByRole('heading', { name: 'Organizations and chat' }).waitFor();
    expect(await page.getByRole('link', { name: 'Back' }).count()).toBe(0);
    const username = section.getByLabel('Username');
    // Polled: Chromium moves the focus to the autofocus field when it next renders, maybe after the load event.
    const usernameId = await username.getAttribute('id');
    await expect.poll(() => focused(page)).toEqual({ id: usernameId, invalid: 'true', described: 'No account can have this username: 5 to 60 lower-case letters, digits and hyphens, starting and ending with a letter or digit.', value: 'chromium membr' });
    expect(await section.getByLabel('Role').inputValue()).toBe('admin');
    // Corrected, it goes through, with the role chosen before.
    await username.fill('chromium-member');
    await section.getByRole('button', { name: 'Invite a member' }).click();
    await page.locator('#done').waitFor();
    expect(await section.locator('ul.pending-invitations').textContent()).toContain('chromium-member (admin)');

    // The role list is styled as the text fields are.
    const selectId = (await section.getByLabel('Role').getAttribute('id'))!;
    const inputId = (await section.getByLabel('Username').getAttribute('id'))!;
    expect(await looks(page, selectId)).toEqual(await looks(page, inputId));

    // In French, the roles are named in French; the values sent stay admin/member.
    await page.goto(`${suite.url}/integrations?lang=fr`);
    const fr = page.locator('section.org', { has: page.getByRole('heading', { name: 'Typo Org', exact: true }) });
    expect(await fr.getByLabel('Rôle').locator('option').allTextContents()).toEqual(['administrateur', 'membre']);
    expect(await Promise.all((await fr.getByLabel('Rôle').locator('option').all()).map((option) => option.getAttribute('value')))).toEqual(['admin', 'member']);
    expect(await fr.locator('ul.pending-invitations').textContent()).toContain('chromium-member (administrateur)');
    expect(problems).toEqual([]);
  });

  it('the admin deletes an organization: the button opens a page that says what goes, a wrong name is refused, the name deletes', async () => {
    const { page, problems } = await open();
    await signIn(page, 'chromium-admin');
    await page.getByLabel('Organization name').fill('Doomed Org');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('#done').waitFor();
    const section = page.locator('section.org', { has: page.getByRole('heading', { name: 'Doomed Org', exact: true }) });
    await section.getByRole('button', { name: 'Set up Mattermost' }).click();
    await page.getByRole('heading', { name: 'Set up Mattermost' }).waitFor();
    await page.getByRole('link', { name: 'Back to the organizations' }).click();

    await section.getByRole('button', { name: 'Delete this organization' }).click();
    await page.getByRole('heading', { name: 'Delete Doomed Org' }).waitFor();
    expect(await page.locator('#delete-installations').textContent()).toContain('Mattermost');
    // Nothing is deleted by the first button: "Keep it" goes back to an intact list.
    await page.getByRole('link', { name: 'Keep it' }).click();
    await section.waitFor();
    await section.getByRole('button', { name: 'Delete this organization' }).click();

    await page.getByLabel('To confirm, type the name of the organization: Doomed Org').fill('doomed org');
    await page.getByRole('button', { name: 'Delete it for good' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('This is not the name of the organization');
    // The error is the field's: tied to it, and the field has the focus to type the name again.
    await expect.poll(async () => (await focused(page)).id).toBe('confirm-name');
    const again = await focused(page);
    expect(again).toMatchObject({ id: 'confirm-name', invalid: 'true', value: '' });
    expect(again.described).toContain('This is not the name of the organization');
    await page.getByLabel('To confirm, type the name of the organization: Doomed Org').fill('Doomed Org');
    await page.getByRole('button', { name: 'Delete it for good' }).click();
    expect(await page.locator('#done').textContent()).toBe('The organization was deleted.');
    expect(await page.getByRole('heading', { name: 'Doomed Org', exact: true }).count()).toBe(0);
    // The other organization is still there.
    await page.getByRole('heading', { name: 'Chromium Org', exact: true }).waitFor();
    expect(problems).toEqual([]);
  });
});
