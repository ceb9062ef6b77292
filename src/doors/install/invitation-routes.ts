import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { SESSION_COOKIE_AUTH } from '../../server/openapi-security.js';
import { requireUser } from '../accounts/accounts.js';
import type { ChatKit } from './chat-kit.js';
import { InstallApiErrors as Errors } from './error-descriptions.js';
import { ORG_ID_PATTERN } from './organizations.js';
import { RoleSchema } from './roles.js';

const tags = ['install'];
const iso = (ms: number) => new Date(ms).toISOString();
const OrgParams = Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }) });
const InvitedParams = Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }), username: Type.String({ maxLength: 100 }) });
// Invitation ids are drawn as organization ids are (randomId): anything else is not looked up.
const InvitationParams = Type.Object({ id: Type.String({ pattern: ORG_ID_PATTERN }) });
const InviteBody = Type.Object({ username: Type.String({ maxLength: 100 }), role: Type.Optional(RoleSchema) });
const Invited = Type.Object({
  status: Type.Literal('invited'),
  username: Type.String({ description: 'The username invited, lower case.' }),
  role: RoleSchema,
  expires_at: Type.String({ description: 'When the invitation lapses unless accepted.' }),
}, { description: 'The invitation is recorded: the same answer whether or not the username names an account. Its account, if any, sees it on its integrations page and accepts or declines it; it is a member only once it accepts.' });
const PendingView = Type.Object({ username: Type.String(), role: RoleSchema, invited_by: Type.Union([Type.String(), Type.Null()]), created_at: Type.String(), expires_at: Type.String() });
const ReceivedView = Type.Object({ id: Type.String(), org_id: Type.String(), org_name: Type.String(), role: RoleSchema, invited_by: Type.String(), created_at: Type.String(), expires_at: Type.String() });
const DeclinedView = Type.Object({
  id: Type.String({ description: 'What `DELETE /api/v1/invitations/declined/{id}` names.' }),
  org_id: Type.Union([Type.String(), Type.Null()], { description: 'The organization; null once it was deleted (its inviter is still remembered).' }),
  org_name: Type.Union([Type.String(), Type.Null()]),
  invited_by: Type.String({ description: 'Who sent the invitation you declined.' }),
  declined_at: Type.String(),
  expires_at: Type.String({ description: 'When the memory lapses: from then the organization and the inviter may invite you again.' }),
});
const Joined = Type.Object({ id: Type.String(), name: Type.String(), role: RoleSchema, created_at: Type.String() }, { description: 'You are a member of the organization now, with the role the invitation gave.' });

/**
 * Membership by invitation over JSON, for signed-in users (session cookie; a browser's cross-site
 * request refused by `requireUser`): admins invite a username, list and withdraw their
 * organization's pending invitations; invitees list theirs, accept or decline them, and list and
 * forget the declines remembered against a new invitation. The former
 * direct add, `POST /api/v1/organizations/<org>/members`, keeps its path and invites.
 */
export function installInvitationRoutes(app: FastifyInstance, kit: ChatKit): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { orgs, invitations } = kit;

  const invite = async (request: FastifyRequest<{ Params: Static<typeof OrgParams>; Body: Static<typeof InviteBody> }>, reply: FastifyReply) => {
    const user = await requireUser(request);
    await orgs.require(request.params.org, user.id, 'members:write');
    const sent = await invitations.invite(request.params.org, request.body.username, request.body.role ?? 'member', user.id, kit.ctx.clock.now());
    return reply.code(202).send({ status: 'invited', username: sent.username, role: sent.role, expires_at: iso(sent.expiresAt) });
  };
  const inviteResponses = { 202: Invited, 400: Errors.invite400, 401: Errors.signIn, 403: Errors.invite403, 404: Errors.invite404, 409: Errors.invite409 };

  api.post('/api/v1/organizations/:org/invitations', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Invite a username into an organization you administer; its account becomes a member only by accepting. Inviting it again renews the invitation.', params: OrgParams, body: InviteBody, response: inviteResponses },
  }, invite);

  api.post('/api/v1/organizations/:org/members', {
    schema: { tags, deprecated: true, security: SESSION_COOKIE_AUTH, summary: 'Kept for older clients: invites, exactly as `POST /api/v1/organizations/{org}/invitations` (it used to add the account at once, unasked, answering 201 with the member).', params: OrgParams, body: InviteBody, response: inviteResponses },
  }, invite);

  api.get('/api/v1/organizations/:org/invitations', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'The pending invitations of an organization you administer.', params: OrgParams, response: { 200: Type.Object({ invitations: Type.Array(PendingView) }, { description: 'Pending invitations, oldest first, by the username invited (whether or not it names an account).' }), 401: Errors.signIn, 403: Errors.invitations403, 404: Errors.members404 } },
  }, async (request) => {
    const user = await requireUser(request);
    await orgs.require(request.params.org, user.id, 'members:write');
    const pending = await invitations.pendingIn(request.params.org, kit.ctx.clock.now());
    return { invitations: pending.map((one) => ({ username: one.username, role: one.role, invited_by: one.invitedBy ?? null, created_at: iso(one.createdAt), expires_at: iso(one.expiresAt) })) };
  });

  api.delete('/api/v1/organizations/:org/invitations/:username', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Withdraw the pending invitation of a username (admins).', params: InvitedParams, response: { 204: Type.Null({ description: 'The invitation was withdrawn; no body.' }), 401: Errors.signIn, 403: Errors.invitations403, 404: Errors.withdraw404 } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    await orgs.require(request.params.org, user.id, 'members:write');
    await invitations.withdraw(request.params.org, request.params.username, user.id);
    return reply.code(204).send(null);
  });

  api.get('/api/v1/invitations', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Your pending invitations into organizations.', response: { 200: Type.Object({ invitations: Type.Array(ReceivedView), max: Type.Integer({ description: 'How many invitations you may have pending at once (PAIRGATE_INSTALL_MAX_PENDING_INVITATIONS_PER_ACCOUNT); while you have that many, further ones do not reach you: decline those you do not want.' }) }, { description: 'Your pending invitations, oldest first.' }), 401: Errors.signIn } },
  }, async (request) => {
    const user = await requireUser(request);
    const received = await invitations.receivedBy(user.id, kit.ctx.clock.now());
    return {
      invitations: received.map((one) => ({ id: one.id, org_id: one.orgId, org_name: one.orgName, role: one.role, invited_by: one.invitedBy, created_at: iso(one.createdAt), expires_at: iso(one.expiresAt) })),
      max: invitations.perAccount,
    };
  });

  api.post('/api/v1/invitations/:id/accept', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Accept an invitation of yours: you become a member of its organization.', params: InvitationParams, response: { 200: Joined, 401: Errors.signIn, 403: Errors.answer403, 404: Errors.answer404, 409: Errors.accept409, 410: Errors.accept410 } },
  }, async (request) => {
    const user = await requireUser(request);
    const joined = await invitations.accept(request.params.id, user.id, kit.ctx.clock.now());
    return { id: joined.id, name: joined.name, role: joined.role, created_at: iso(joined.createdAt) };
  });

  api.post('/api/v1/invitations/:id/decline', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Decline an invitation of yours: it is gone, with the other invitations its sender sent you, and for a while neither its organization nor its sender may invite you again.', params: InvitationParams, response: { 204: Type.Null({ description: 'The invitation was declined; no body.' }), 401: Errors.signIn, 403: Errors.answer403, 404: Errors.answer404 } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    await invitations.decline(request.params.id, user.id, kit.ctx.clock.now());
    return reply.code(204).send(null);
  });

  api.get('/api/v1/invitations/declined', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'The invitations you declined that are still remembered: meanwhile neither their organization nor whoever sent them may invite you again.', response: { 200: Type.Object({ declined: Type.Array(DeclinedView) }, { description: 'Your remembered declines, newest first.' }), 401: Errors.signIn } },
  }, async (request) => {
    const user = await requireUser(request);
    const declined = await invitations.declinedBy(user.id, kit.ctx.clock.now());
    return { declined: declined.map((one) => ({ id: one.id, org_id: one.orgId, org_name: one.orgName, invited_by: one.invitedBy, declined_at: iso(one.declinedAt), expires_at: iso(one.expiresAt) })) };
  });

  api.delete('/api/v1/invitations/declined/:id', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Allow invitations again from the organization and the inviter of a decline of yours: the decline is forgotten.', params: InvitationParams, response: { 204: Type.Null({ description: 'Forgotten: they may invite you again; no body.' }), 401: Errors.signIn, 403: Errors.answer403, 404: Errors.decline404 } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    await invitations.allowAgain(request.params.id, user.id, kit.ctx.clock.now());
    return reply.code(204).send(null);
  });
}
