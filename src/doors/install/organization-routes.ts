import { SESSION_COOKIE_AUTH } from '../../server/openapi-security.js';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireUser } from '../accounts/accounts.js';
import type { ChatKit } from './chat-kit.js';
import { InstallApiErrors as Errors } from './error-descriptions.js';
import { deleteOrganization } from './organization-deletion.js';
import { OrgNameInput, ORG_ID_PATTERN } from './organizations.js';
import { RoleSchema } from './roles.js';

const tags = ['install'];
const OrgView = Type.Object({ id: Type.String(), name: Type.String(), role: RoleSchema, created_at: Type.String() });
const MemberView = Type.Object({ user_id: Type.String(), username: Type.String(), role: RoleSchema });
/** `MemberView` as the document describes one route's answer. */
const memberView = (description: string) => Type.Object(MemberView.properties, { description });
const OrgParams = Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }) });
const MemberParams = Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }), username: Type.String({ maxLength: 100 }) });

/**
 * Organizations over JSON for signed-in users (session cookie; a browser's cross-site request is
 * refused by `requireUser`): create one (its creator is admin), list yours, list and remove
 * members, change a member's role, delete one you administer. Members join by invitation
 * (`invitation-routes.ts`).
 */
export function installOrganizationRoutes(app: FastifyInstance, kit: ChatKit): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { orgs } = kit;

  api.post('/api/v1/organizations', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Create an organization; you become its admin.', body: Type.Object({ name: OrgNameInput }), response: { 201: Type.Object(OrgView.properties, { description: 'The organization created, with you as its admin.' }), 400: Errors.createOrg400, 401: Errors.signIn, 403: Errors.createOrg403, 409: Errors.createOrg409 } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    const org = await orgs.create(request.body.name, user.id, kit.ctx.clock.now());
    return reply.code(201).send({ id: org.id, name: org.name, role: org.role, created_at: new Date(org.createdAt).toISOString() });
  });

  api.get('/api/v1/organizations', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Your organizations and your role in each.', response: { 200: Type.Object({ organizations: Type.Array(OrgView) }, { description: 'Your organizations, oldest first, each with your role in it.' }), 401: Errors.signIn } },
  }, async (request) => {
    const user = await requireUser(request);
    const list = await orgs.listFor(user.id);
    return { organizations: list.map((org) => ({ id: org.id, name: org.name, role: org.role, created_at: new Date(org.createdAt).toISOString() })) };
  });

  api.get('/api/v1/organizations/:org/members', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'The members of one of your organizations.', params: OrgParams, response: { 200: Type.Object({ members: Type.Array(MemberView) }, { description: 'The organization\'s members, by username, each with their role.' }), 401: Errors.signIn, 404: Errors.members404 } },
  }, async (request) => {
    const user = await requireUser(request);
    await orgs.require(request.params.org, user.id, 'links:write');
    return { members: (await orgs.members(request.params.org)).map((member) => ({ user_id: member.userId, username: member.username, role: member.role })) };
  });

  // Adding a member is an invitation now: POST /api/v1/organizations/:org/members lives in invitation-routes.ts.

  api.patch('/api/v1/organizations/:org/members/:username', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Change a member\'s role (admins): make them admin, or a member again. Their chat links stay; the last admin cannot become a member.', params: MemberParams, body: Type.Object({ role: RoleSchema }), response: { 200: memberView('The member, with their role now (unchanged when they had it already).'), 401: Errors.signIn, 403: Errors.setRole403, 404: Errors.setRole404, 409: Errors.setRole409 } },
  }, async (request) => {
    const user = await requireUser(request);
    await orgs.require(request.params.org, user.id, 'members:write');
    const member = await orgs.setRole(request.params.org, request.params.username, request.body.role, user.id);
    return { user_id: member.userId, username: member.username, role: member.role };
  });

  api.delete('/api/v1/organizations/:org/members/:username', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Remove a member (admins; anyone may remove themselves). Their chat links in the organization go too.', params: MemberParams, response: { 204: Type.Null({ description: 'The member was removed, with their chat links in the organization; no body.' }), 401: Errors.signIn, 403: Errors.removeMember403, 404: Errors.removeMember404, 409: Errors.removeMember409 } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    const self = request.params.username.trim().toLowerCase() === user.username;
    await orgs.require(request.params.org, user.id, self ? 'links:write' : 'members:write');
    await orgs.removeMember(request.params.org, request.params.username, user.id);
    return reply.code(204).send(null);
  });

  // No typed confirmation here: a program names the organization by its id, which is no slip of
  // the hand; the page asks a person to type the name.
  api.delete('/api/v1/organizations/:org', {
    schema: {
      tags,
      security: SESSION_COOKIE_AUTH,
      summary: 'Delete an organization you administer: its memberships, chat installations (secrets and bot tokens) and chat links go, in one transaction; its link tokens stop working and its installations\' calls get 404. The accounts stay.',
      params: OrgParams,
      response: { 204: Type.Null({ description: 'The organization was deleted, with everything it held; no body.' }), 401: Errors.signIn, 403: Errors.deleteOrg403, 404: Errors.deleteOrg404 },
    },
  }, async (request, reply) => {
    const user = await requireUser(request);
    await deleteOrganization(kit, user, request.params.org);
    return reply.code(204).send(null);
  });
}
