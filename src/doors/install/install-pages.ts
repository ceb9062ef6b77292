import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isPairgateError } from '../../core/errors.js';
import { isLoopbackHost } from '../../server/config-warnings.js';
import { htmlPage, seeOther } from '../../server/openapi-responses.js';
import { currentUser, signInUrl } from '../accounts/accounts.js';
import { frenchSpacing } from '../accounts/french-spacing.js';
import { askedLang, pickLang, type Lang, type Translate } from '../accounts/i18n.js';
import { renderPage } from '../accounts/page-helpers.js';
import type { User } from '../accounts/users.js';
import type { ChatKit } from './chat-kit.js';
import { LINK_PAGE_PATH, shownChatName } from './chat-commands.js';
import { withoutUnshowableText } from '../shared/shown-text.js';
import type { Connector, ConnectorNames } from './connector.js';
import { installTranslator } from './install-i18n.js';
import { makeLinkToken, runSetup } from './integration-routes.js';
import { FormNonces } from './form-nonces.js';
import { lifetimeText } from './lifetime.js';
import { confirmsName, deleteOrganization, deletionSummary } from './organization-deletion.js';
import { OrgNameInput, ORG_ID_PATTERN, type Member, type Membership } from './organizations.js';
import { refusalText, type RefusalFacts } from './page-refusals.js';
import { roleAllows, ROLES, RoleSchema } from './roles.js';

const tags = ['install'];
const HtmlPage = { 200: htmlPage('An HTML page.') };
/**
 * What `?done=` says after a form was sent, by its value. A Map, not an object: an object's
 * look-up of `?done=__proto__` or `constructor` found a function and the page answered 500.
 */
const DONE_MESSAGES = new Map([
  ['created', 'install.created'], ['invited', 'install.invited'], ['deleted', 'install.deleted'], ['role', 'install.roleChanged'],
  ['joined', 'install.joined'], ['declined', 'install.declined'], ['withdrawn', 'install.withdrawn'], ['allowed', 'install.allowed'],
]);
/** A page saying why a form's action was refused (`formAction`), under the error's status. */
const Refused = htmlPage('A page saying what went wrong.');
/** Every form on an organization: it did not come from this site or your role does not allow it (403), or you are not a member (404). */
const FormErrors = { 403: Refused, 404: Refused };
/** A field's refusal: the integrations page again, under the error's status. */
const PageAgain = htmlPage('The integrations page again, the error next to the field and what was typed kept.');
/** Done: to the integrations page, or (not signed in) to the sign-in page. */
const Done = seeOther('Done: to the integrations page; not signed in: to the sign-in page, which comes back there.');
const FormBase = { _csrf: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 5 })) };
/** The forms whose answer is shown once carry a single-use nonce (see FormNonces); absent: a program posting the form, taken as sent once. */
const OnceFormBase = { ...FormBase, form_nonce: Type.Optional(Type.String({ maxLength: 100 })) };
/** The same form sent again (a reload of its answer): a page saying what the first sending made, and how to get another. */
const SentAgain = htmlPage('The form was sent already: a page saying it was made and shown once, and how to get another.');
/** A form whose nonce is malformed or older than a day: a page saying to open the page again. */
const SentTooLate = htmlPage('The form is too old (shown more than a day ago): a page saying to open the organizations page again.');
const OrgParams = Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }) });
/** An invitation's id, drawn as an organization's is. */
const InvitationParams = Type.Object({ id: Type.String({ pattern: ORG_ID_PATTERN }) });

/** Refusals of what was typed in a field of the integrations page, shown next to that field. */
const FIELD_ERRORS: Record<string, 'name' | 'username'> = { invalid_org_name: 'name', too_many_organizations: 'name', invalid_username: 'username', already_member: 'username', invitation_declined: 'username', too_many_invitations: 'username' };

/** A form of the integrations page shown again: which one, what was typed and what went wrong. */
interface FormAgain {
  /** `create`, or the id of the organization whose add-member form it is. */
  form: 'create' | { org: string };
  values: Record<string, string>;
  error: string;
}

/** A time to the minute, as the page shows times: `2026-12-02 07:24 UTC`. */
function minuteOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/**
 * The values a field's refusal names in the page's words: an ISO time of its details (a decline's
 * `declined_at`, `invite_again_after`) to the minute, as the page shows times.
 */
function fieldErrorParams(details: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details ?? {}).map(([key, value]) => [key, typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? minuteOf(Date.parse(value)) : value]));
}

/** A member as an admin's list shows them: the role their button gives, or no button (the only admin). */
type ListedMember = Member & ({ switchTo: 'admin' | 'member' } | { onlyAdmin: true });

/**
 * The members with the role each one's button gives (`install.makeAdmin`, `install.makeMember`),
 * except the organization's only admin, who gets a note (`install.onlyAdmin`) rather than a
 * "Make member" the server would refuse (409 `last_admin`, which stays: the list may be stale).
 */
function listedMembers(members: readonly Member[]): ListedMember[] {
  const admins = members.filter((member) => member.role === 'admin').length;
  return members.map((member): ListedMember => {
    if (member.role === 'admin' && admins === 1) return { ...member, onlyAdmin: true };
    return { ...member, switchTo: member.role === 'admin' ? 'member' : 'admin' };
  });
}

/**
 * A sentence with one of its values set apart by the page: a date kept whole on one line
 * (`time.date`, `datetime` set), a name in bold. The words before and after the value, in the
 * page's language, and the value.
 */
interface Apart {
  before: string;
  value: string;
  after: string;
  datetime?: string;
}

/** `key`'s sentence (`t`, filled with `params`) cut around the value of `param` (`Apart`). */
function setApart(t: Translate, key: string, params: Record<string, unknown>, param: string): Apart {
  const mark = '\u0000apart\u0000';
  const text = t(key, { ...params, [param]: mark });
  // The last one: the value given by the page comes after any other a person named (a chat user's name).
  const at = text.lastIndexOf(mark);
  if (at < 0) return { before: t(key, params), value: '', after: '' };
  return { before: text.slice(0, at), value: String(params[param]), after: text.slice(at + mark.length) };
}

/** `key`'s sentence with its time `param` (`ms`, to the minute: `minuteOf`) set apart, so a line never breaks inside it. */
function dated(t: Translate, key: string, params: Record<string, unknown>, param: string, ms: number): Apart {
  return { ...setApart(t, key, { ...params, [param]: minuteOf(ms) }, param), datetime: new Date(ms).toISOString() };
}

/** `text` with its first letter in capitals: a line that starts with a connector's name in lower case (`signed webhook: ...`). */
function atLineStart<T extends { before: string }>(line: T): T {
  return { ...line, before: line.before.charAt(0).toUpperCase() + line.before.slice(1) };
}

/** How the pages in `lang` name `connector` (`ConnectorNames`). */
function namesOf(connector: Connector, lang: Lang): ConnectorNames {
  return connector.pageNames[lang];
}

/** `connector`'s line of how it installs (`Connector.installStep`), its name first and capitalised. */
function installStepOf(t: Translate, connector: Connector, lang: Lang): string {
  const step = lang === 'fr' ? frenchSpacing(connector.installStep.fr) : connector.installStep[lang];
  return atLineStart({ before: t('install.installStep', { connector: namesOf(connector, lang).name, step }) }).before;
}

/** Whether `url` names this machine only (localhost, 127.x, ::1), so no other machine can reach it. */
function reachableFromHereOnly(url: string): boolean {
  return isLoopbackHost(new URL(url).hostname.replace(/^\[|\]$/g, ''));
}

/** Words of a setup answer's keys that are written in capitals (`jwt_secret` is a "JWT secret", not a "Jwt secret"). */
const ACRONYMS = new Set(['jwt', 'url', 'id', 'api', 'hmac']);

/** `install_url` -> `Install URL`, for the generic rendering of a connector's setup answer. */
export function labelOf(key: string): string {
  const words = key.split('_').map((word) => (ACRONYMS.has(word) ? word.toUpperCase() : word));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The integrations page (`/integrations`), for signed-in people: the invitations they received
 * (accept, decline), their organizations, creating one, inviting members, withdrawing invitations
 * and changing members' roles (admins), "Set up <connector>" (admins; shows
 * the secret once), making a link token (members) and deleting an organization (admins, after a
 * page that says what goes and asks them to type its name). Every form carries the CSRF token and is also checked for a
 * cross-site origin; answers that show a secret are never cached. Connectors are listed from the
 * registry, so a new one appears here without a change to the page.
 */
export function installIntegrationPages(app: FastifyInstance, kit: ChatKit, connectors: readonly Connector[]): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const pages = kit.ctx.pages;
  const nonces = new FormNonces(kit.ctx.stores.ephemeral);

  const render = (request: FastifyRequest, reply: FastifyReply, lang: Lang, template: string, data: Record<string, unknown>, user: User, status = 200) =>
    renderPage(pages, request, reply, template, { t: installTranslator(lang), ...data }, { status, lang, user });

  const message = (request: FastifyRequest, reply: FastifyReply, lang: Lang, user: User, text: string, status: number) => {
    const t = installTranslator(lang);
    return render(request, reply, lang, 'account/message.njk', { title: t('install.title'), message: text, back: LINK_PAGE_PATH }, user, status);
  };

  /**
   * Runs a form action for the signed-in user: sign-in redirect, CSRF and origin checks (unless
   * `form` is false: a page that only shows), and a page (never a 5xx) for the 4xx errors the
   * action throws, saying what went wrong in the page's language (`refusalText`, with the `facts`
   * of the form, asked only then).
   */
  const formAction = async (request: FastifyRequest, reply: FastifyReply, action: (user: User, lang: Lang) => Promise<FastifyReply>, form = true, facts?: () => Promise<RefusalFacts>) => {
    const lang = pickLang(request);
    const user = await currentUser(request);
    // A page that only shows (the deletion's confirmation) is where the person wanted to be: back
    // to it after signing in. A form sent signed out is lost anyway: back to the list.
    if (!user) return reply.redirect(signInUrl(form ? LINK_PAGE_PATH : (request.url.split('?')[0] ?? LINK_PAGE_PATH), askedLang(request)), 303);
    try {
      // The form rule alone (the CSRF token and the browser's word on the origin, `isForeignFormPost`):
      // `assertSameOrigin` refuses `Origin: null`, which is every form post of these pages on plain
      // http, as their Referrer-Policy makes browsers send.
      if (form) pages.verifyCsrf(request);
      return await action(user, lang);
    } catch (error) {
      if (isPairgateError(error) && error.status < 500) {
        return message(request, reply, lang, user, refusalText(error, lang, facts ? await facts() : {}), error.status);
      }
      throw error;
    }
  };

  /** The integrations page; `again` shows a form again with its field's error and what was typed. */
  const integrationsPage = async (request: FastifyRequest, reply: FastifyReply, lang: Lang, user: User, again?: FormAgain, status = 200) => {
    const t = installTranslator(lang);
    const now = kit.ctx.clock.now();
    const againFor = (org: string) => (again && again.form !== 'create' && again.form.org === org ? again : undefined);
    const orgs = await Promise.all((await kit.orgs.listFor(user.id)).map(async (org) => {
      const admin = roleAllows(org.role, 'integrations:write');
      const current = await Promise.all(connectors.map(async (connector) => ({ connector, current: await kit.installations.current(org.id, connector.name, now) })));
      const installations = admin ? current.flatMap(({ connector, current: inst }) => {
        if (!inst) return [];
        const name = namesOf(connector, lang).name;
        return [atLineStart(inst.state === 'installed'
          ? { before: t('install.installed', { connector: name, site: inst.siteUrl ?? '' }), value: '', after: '' }
          : dated(t, 'install.pending', { connector: name }, 'until', inst.expiresAt ?? now))];
      }) : [];
      // A link token is of use only where its chat is installed: the others are said, not offered.
      const installed = current.filter(({ current: inst }) => inst?.state === 'installed').map(({ connector }) => connector);
      // What this person has linked here: the proof that `/pairgate link` worked, and what unlink would remove.
      const links = (await kit.links.listForUser(org.id, user.id)).map((link) => {
        const connector = connectors.find((c) => c.name === link.connector);
        return atLineStart(dated(t, 'install.linkedAs', { connector: connector ? namesOf(connector, lang).name : link.connector, name: shownChatName(link.externalUsername) ?? withoutUnshowableText(link.externalUserId) }, 'time', link.linkedAt));
      });
      const memberForm = againFor(org.id);
      return {
        id: org.id,
        name: org.name,
        role: org.role,
        admin,
        canAddMembers: roleAllows(org.role, 'members:write'),
        canDelete: roleAllows(org.role, 'organization:delete'),
        members: admin ? listedMembers(await kit.orgs.members(org.id)) : [],
        installations,
        linkable: installed.map((connector) => ({ path: connector.name, ...namesOf(connector, lang) })),
        notInstalled: installed.length === 0 ? t(admin ? 'install.notInstalledAdmin' : 'install.notInstalled') : '',
        // How each connector installs, under the admin's sentence: a Mattermost command, a webhook's signed POST.
        installSteps: admin && installed.length === 0 ? connectors.map((connector) => installStepOf(t, connector, lang)) : [],
        links,
        invitations: roleAllows(org.role, 'members:write') ? (await kit.invitations.pendingIn(org.id, now)).map((invitation) => ({
          username: invitation.username,
          line: dated(t, 'install.invitedLine', { username: invitation.username, role: t(`install.role.${invitation.role}`) }, 'until', invitation.expiresAt),
        })) : [],
        memberForm: { username: memberForm?.values.username ?? '', role: memberForm?.values.role ?? 'member', error: memberForm?.error ?? '' },
      };
    }));
    const query = (request.query ?? {}) as { done?: string };
    const doneKey = again || query.done === undefined ? undefined : DONE_MESSAGES.get(query.done);
    const done = doneKey ? t(doneKey) : '';
    const createForm = again?.form === 'create' ? again : undefined;
    const received = await kit.invitations.receivedBy(user.id, now);
    const declined = await kit.invitations.declinedBy(user.id, now);
    return render(request, reply, lang, 'install/integrations.njk', {
      title: t('install.title'),
      orgs,
      // The organization's name set apart in bold: a stranger chose it, and the page says whose it is.
      received: received.map((invitation) => ({
        id: invitation.id,
        invite: setApart(t, 'install.invitation', { org: invitation.orgName, role: t(`install.role.${invitation.role}`), by: invitation.invitedBy }, 'org'),
        until: dated(t, 'install.invitationUntil', {}, 'until', invitation.expiresAt),
      })),
      // The organization's name set apart in bold as above; one deleted since is said so, its inviter still named.
      declined: declined.map((one) => ({
        id: one.id,
        from: one.orgName === null ? { before: t('install.declinedFromDeleted', { by: one.invitedBy }), value: '', after: '' } : setApart(t, 'install.declinedFrom', { org: one.orgName, by: one.invitedBy }, 'org'),
        on: dated(t, 'install.declinedOn', {}, 'time', one.declinedAt),
      })),
      receivedFull: received.length >= kit.invitations.perAccount ? t('install.invitationsFull', { max: kit.invitations.perAccount }) : '',
      connectors: connectors.map((connector) => ({ path: connector.name, ...namesOf(connector, lang) })),
      roles: ROLES,
      // One per rendering: each form's sending is recorded under its own path, so one nonce serves them all.
      formNonce: nonces.issue(now),
      done,
      createForm: { name: createForm?.values.name ?? '', error: createForm?.error ?? '' },
    }, user, status);
  };

  /**
   * Runs `step`; a refusal of what was typed in a field (FIELD_ERRORS) shows the integrations page
   * again, the error next to the field, in the page's language, and what was typed kept.
   */
  const orPageAgain = async (request: FastifyRequest, reply: FastifyReply, lang: Lang, user: User, form: FormAgain['form'], values: Record<string, string>, step: () => Promise<FastifyReply>) => {
    try {
      return await step();
    } catch (error) {
      if (!isPairgateError(error) || !(error.code in FIELD_ERRORS)) throw error;
      const t = installTranslator(lang);
      const key = `install.error.${error.code}`;
      // A refusal said in several ways (a decline from this organization, or one this admin sent) has a key per way.
      const way = error.details?.declined_from;
      const wayKey = typeof way === 'string' ? `${key}.${way}` : key;
      const wayText = t(wayKey, fieldErrorParams(error.details));
      const translated = wayText === wayKey ? t(key, fieldErrorParams(error.details)) : wayText;
      return integrationsPage(request, reply, lang, user, { form, values, error: translated === key ? error.message : translated }, error.status);
    }
  };

  /**
   * Runs `make` (a setup, a link token) once per sending of a form: the same form sent again (the
   * browser's "send again?" on reloading the answer) makes nothing new and says what was made and
   * how to get another (409); a form too old to tell is refused (400). A refused `make` made
   * nothing: its sending is forgotten, so sending it again tries again.
   */
  const once = async (request: FastifyRequest, reply: FastifyReply, lang: Lang, user: User, path: string, what: 'setup' | 'token', connector: Connector, make: () => Promise<FastifyReply>) => {
    const nonce = (request.body as { form_nonce?: string } | undefined)?.form_nonce;
    if (nonce === undefined) return make();
    const t = installTranslator(lang);
    const spent = await nonces.spend(user.id, path, nonce, kit.ctx.clock.now());
    const names = { connector: namesOf(connector, lang).name, object: namesOf(connector, lang).object };
    const words = { ...names, button: t(what === 'setup' ? 'install.setup' : 'install.linkToken', names) };
    if (spent === 'too-old') return message(request, reply, lang, user, t('install.formTooOld', words), 400);
    if (spent === 'again') {
      const title = t(what === 'setup' ? 'install.setupDoneTitle' : 'install.tokenTitle', words);
      return render(request, reply, lang, 'account/message.njk', { title, message: t(what === 'setup' ? 'install.setupSentAgain' : 'install.tokenSentAgain', words), back: LINK_PAGE_PATH }, user, 409);
    }
    try {
      return await make();
    } catch (error) {
      await nonces.release(user.id, path, nonce);
      throw error;
    }
  };

  api.get(LINK_PAGE_PATH, {
    schema: { tags, summary: 'Your organizations, their chat installations and your link tokens (page).', querystring: Type.Object({ lang: Type.Optional(Type.String({ maxLength: 35 })), done: Type.Optional(Type.String({ maxLength: 20 })) }), response: { ...HtmlPage, 303: Done } },
  }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl(LINK_PAGE_PATH, askedLang(request)), 303);
    return integrationsPage(request, reply, pickLang(request), user);
  });

  api.post(`${LINK_PAGE_PATH}/orgs`, {
    schema: { tags, summary: 'Create an organization (form).', body: Type.Object({ ...FormBase, name: OrgNameInput }), response: { 303: Done, 400: PageAgain, 403: Refused, 409: PageAgain } },
  }, async (request, reply) => formAction(request, reply, async (user, lang) =>
    orPageAgain(request, reply, lang, user, 'create', { name: request.body.name }, async () => {
      await kit.orgs.create(request.body.name, user.id, kit.ctx.clock.now());
      return reply.redirect(`${LINK_PAGE_PATH}?done=created`, 303);
    })));

  // The path of the former "Add a member" form: it invites now, and says the same for any username.
  api.post(`${LINK_PAGE_PATH}/orgs/:org/members`, {
    schema: { tags, summary: 'Invite a username into an organization you administer (form); its account becomes a member only by accepting.', params: OrgParams, body: Type.Object({ ...FormBase, username: Type.String({ maxLength: 100 }), role: Type.Optional(RoleSchema) }), response: { 303: Done, 400: PageAgain, ...FormErrors, 409: PageAgain } },
  }, async (request, reply) => formAction(request, reply, async (user, lang) => {
    await kit.orgs.require(request.params.org, user.id, 'members:write');
    const role = request.body.role ?? 'member';
    return orPageAgain(request, reply, lang, user, { org: request.params.org }, { username: request.body.username, role }, async () => {
      await kit.invitations.invite(request.params.org, request.body.username, role, user.id, kit.ctx.clock.now());
      return reply.redirect(`${LINK_PAGE_PATH}?done=invited`, 303);
    });
  }));

  // No form nonce on these three: each acts on one invitation, which the first sending uses up; a
  // second is refused with a page saying it is gone (404), having changed nothing.
  api.post(`${LINK_PAGE_PATH}/orgs/:org/invitations/:username/withdraw`, {
    schema: { tags, summary: 'Withdraw a pending invitation of an organization you administer (form).', params: Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }), username: Type.String({ maxLength: 100 }) }), body: Type.Object(FormBase), response: { 303: Done, ...FormErrors, 404: htmlPage('You are not a member of the organization, or it has no pending invitation for this username: a page saying so.') } },
  }, async (request, reply) => formAction(request, reply, async (user) => {
    await kit.orgs.require(request.params.org, user.id, 'members:write');
    await kit.invitations.withdraw(request.params.org, request.params.username, user.id);
    return reply.redirect(`${LINK_PAGE_PATH}?done=withdrawn`, 303);
  }));

  api.post(`${LINK_PAGE_PATH}/invitations/:id/accept`, {
    schema: { tags, summary: 'Accept an invitation of yours (form): you become a member of its organization.', params: InvitationParams, body: Type.Object(FormBase), response: { 303: Done, 403: Refused, 404: htmlPage('You have no pending invitation with this id (answered already, withdrawn, expired, or not yours): a page saying so.'), 409: htmlPage('Your account belongs to the most organizations it may: a page saying to leave one first.'), 410: htmlPage('Whoever sent the invitation no longer administers its organization: a page saying so.') } },
  }, async (request, reply) => formAction(request, reply, async (user) => {
    await kit.invitations.accept(request.params.id, user.id, kit.ctx.clock.now());
    return reply.redirect(`${LINK_PAGE_PATH}?done=joined`, 303);
  }));

  api.post(`${LINK_PAGE_PATH}/invitations/:id/decline`, {
    schema: { tags, summary: 'Decline an invitation of yours (form).', params: InvitationParams, body: Type.Object(FormBase), response: { 303: Done, 403: Refused, 404: htmlPage('You have no pending invitation with this id: a page saying so.') } },
  }, async (request, reply) => formAction(request, reply, async (user) => {
    await kit.invitations.decline(request.params.id, user.id, kit.ctx.clock.now());
    return reply.redirect(`${LINK_PAGE_PATH}?done=declined`, 303);
  }));

  api.post(`${LINK_PAGE_PATH}/invitations/declined/:id/allow`, {
    schema: { tags, summary: 'Allow invitations again from the organization and the inviter of an invitation you declined (form).', params: InvitationParams, body: Type.Object(FormBase), response: { 303: Done, 403: Refused, 404: htmlPage('You have no remembered decline with this id (allowed already, lapsed, or not yours): a page saying so.') } },
  }, async (request, reply) => formAction(request, reply, async (user) => {
    await kit.invitations.allowAgain(request.params.id, user.id, kit.ctx.clock.now());
    return reply.redirect(`${LINK_PAGE_PATH}?done=allowed`, 303);
  }));

  // No form nonce: giving a member the role they have changes nothing, so a re-sent form is harmless.
  api.post(`${LINK_PAGE_PATH}/orgs/:org/members/:username/role`, {
    schema: { tags, summary: 'Change a member\'s role in an organization you administer (form): make them admin, or a member again.', params: Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }), username: Type.String({ maxLength: 100 }) }), body: Type.Object({ ...FormBase, role: RoleSchema }), response: { 303: Done, ...FormErrors, 404: htmlPage('You are not a member of the organization, or the account is not (or no longer) a member of it: a page saying so.'), 409: htmlPage('The member is the organization\'s last admin and cannot become a plain member: a page saying to make another member admin first.') } },
  }, async (request, reply) => formAction(request, reply, async (user) => {
    await kit.orgs.require(request.params.org, user.id, 'members:write');
    await kit.orgs.setRole(request.params.org, request.params.username, request.body.role, user.id);
    return reply.redirect(`${LINK_PAGE_PATH}?done=role`, 303);
  }));

  /** The confirmation page of deleting `org`: what goes, and the name to type (`error` after a wrong one). */
  const deletePage = async (request: FastifyRequest, reply: FastifyReply, lang: Lang, user: User, org: Membership, error = '', status = 200) => {
    const t = installTranslator(lang);
    const summary = await deletionSummary(kit, org, connectors, (connector) => namesOf(connector, lang).name);
    return render(request, reply, lang, 'install/delete.njk', {
      title: t('install.deleteTitle', { name: org.name }),
      org: { id: org.id, name: org.name },
      // The name set apart in bold, as other pages set names apart: the one to read, then to type.
      intro: setApart(t, 'install.deleteIntro', { name: org.name }, 'name'),
      confirm: setApart(t, 'install.deleteConfirm', { name: org.name }, 'name'),
      summary,
      error,
    }, user, status);
  };

  api.get(`${LINK_PAGE_PATH}/orgs/:org/delete`, {
    schema: { tags, summary: 'Delete an organization you administer: the confirmation page (what goes; type the name).', params: OrgParams, querystring: Type.Object({ lang: Type.Optional(Type.String({ maxLength: 35 })) }), response: { ...HtmlPage, 303: Done, ...FormErrors } },
  }, async (request, reply) => formAction(request, reply, async (user, lang) => {
    const org = await kit.orgs.require(request.params.org, user.id, 'organization:delete');
    return deletePage(request, reply, lang, user, org);
  }, false));

  api.post(`${LINK_PAGE_PATH}/orgs/:org/delete`, {
    schema: { tags, summary: 'Delete an organization you administer (form): its name typed to confirm.', params: OrgParams, body: Type.Object({ ...FormBase, name: Type.String({ maxLength: 200 }) }), response: { 303: Done, 400: htmlPage('The confirmation page again: the name typed is not the organization\'s.'), ...FormErrors } },
  }, async (request, reply) => formAction(request, reply, async (user, lang) => {
    const org = await kit.orgs.require(request.params.org, user.id, 'organization:delete');
    if (!confirmsName(org.name, request.body.name)) return deletePage(request, reply, lang, user, org, installTranslator(lang)('install.deleteMismatch'), 400);
    await deleteOrganization(kit, user, org.id);
    return reply.redirect(`${LINK_PAGE_PATH}?done=deleted`, 303);
  }));

  for (const connector of connectors) {
    api.post(`${LINK_PAGE_PATH}/orgs/:org/${connector.name}/setup`, {
      schema: { tags, summary: `Set up ${namesOf(connector, 'en').object} (form, admin): shows the secret once.`, params: OrgParams, body: Type.Object(OnceFormBase), response: { 200: htmlPage('The setup, with its secret.'), 303: Done, 400: SentTooLate, ...FormErrors, 409: SentAgain } },
    }, async (request, reply) => formAction(request, reply, async (user, lang) => once(request, reply, lang, user, `${LINK_PAGE_PATH}/orgs/${request.params.org}/${connector.name}/setup`, 'setup', connector, async () => {
      const t = installTranslator(lang);
      const { expires_at: expiresAt, ...answer } = await runSetup(kit, connector, user, request.params.org);
      const fields = Object.entries(answer).map(([key, value]) => ({ key, label: labelOf(key), value }));
      const publicUrl = kit.ctx.publicUrl();
      reply.header('pragma', 'no-cache');
      return render(request, reply, lang, 'install/setup.njk', {
        title: t('install.setupDoneTitle', { ...namesOf(connector, lang) }),
        connector: namesOf(connector, lang).name,
        // The connector's own next steps: a Mattermost admin runs a command, a webhook's hands URLs to a bot.
        steps: lang === 'fr' ? frenchSpacing(connector.setupSteps.fr) : connector.setupSteps[lang],
        fields,
        // The chat server fetches these links: one naming this machine's loopback works for no one
        // else, and the admin would learn it only from a failed install in the chat.
        unreachable: reachableFromHereOnly(publicUrl) ? t('install.loopbackWarning', { connector: namesOf(connector, lang).name, url: publicUrl }) : '',
        expires: dated(t, 'install.expires', {}, 'time', new Date(expiresAt!).getTime()),
      }, user);
    })));

    api.post(`${LINK_PAGE_PATH}/orgs/:org/${connector.name}/link-token`, {
      schema: { tags, summary: `Make a one-time ${namesOf(connector, 'en').name} link token (form, member).`, params: OrgParams, body: Type.Object(OnceFormBase), response: { 200: htmlPage('The link token.'), 303: Done, 400: SentTooLate, ...FormErrors, 409: htmlPage('The form was sent already (a page saying the token was made and shown once, and how to make another), or the chat is not installed yet (a page saying so).'), 429: Refused } },
      config: { rateLimit: { max: 30, timeWindow: 60_000 } },
    }, async (request, reply) => formAction(request, reply, async (user, lang) => once(request, reply, lang, user, `${LINK_PAGE_PATH}/orgs/${request.params.org}/${connector.name}/link-token`, 'token', connector, async () => {
      const t = installTranslator(lang);
      const { answer: made, siteUrl } = await makeLinkToken(kit, connector, user, request.params.org, request.clientNetwork);
      reply.header('pragma', 'no-cache');
      return render(request, reply, lang, 'install/link-token.njk', {
        title: t('install.tokenTitle'),
        connector: namesOf(connector, lang).name,
        token: made.token,
        command: connector.linkCommand(made.token),
        lifetime: lifetimeText(made.expires_in, lang),
        orgName: made.org_name,
        // Whoever runs the command is linked to this account, in this chat: said before the token
        // leaves the page, so a person signed in to another account (a shared browser), or asked
        // for the token by someone else, sees what it would give away.
        account: user.username,
        site: siteUrl ? withoutUnshowableText(siteUrl) : '',
        warning: t('install.tokenWarning', { account: user.username }),
      }, user);
    }), true, async () => ({
      connector: namesOf(connector, pickLang(request)).name,
      // Said only in refusals that follow the membership check (the installation's state).
      org: (await kit.orgs.find(request.params.org))?.name,
      setUpAt: `${kit.ctx.publicUrl()}${LINK_PAGE_PATH}`,
    })));
  }
}
