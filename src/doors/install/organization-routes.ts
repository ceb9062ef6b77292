import { SESSION_COOKIE_AUTH } from '../../server/openapi-security.js';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireUser } from '../accounts/accounts.js';
import type { ChatKit } from './chat-kit.js';
import { deleteOrganization } from './organization-deletion.js';
import { OrgNameInput, ORG_ID_PATTERN } from './organizations.js';
import { RoleSchema } from './roles.js';

const tags = ['install'];
const ErrorView = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true });
const OrgView = Type.Object({ id: Type.String(), name: Type.String(), role: RoleSchema, created_at: Type.String() });
const MemberView = Type.Object({ user_id: Type.String(), username: Type.String(), role: RoleSchema });
const OrgParams = Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }) });

/**
 * Organizations over JSON for signed-in users (session cookie; a browser's cross-site request is
 * refused by `requireUser`): create one (its creator is admin), list yours, list, add and remove
 * members, delete one you administer.
 */
export function installOrganizationRoutes(app: FastifyInstance, kit: ChatKit): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { orgs } = kit;

  api.post('/api/v1/organizations', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Create an organization; you become its admin.', body: Type.Object({ name: OrgNameInput }), response: { 201: OrgView, 400: ErrorView, 401: ErrorView, 403: ErrorView } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    const org = await orgs.create(request.body.name, user.id, kit.ctx.clock.now());
    return reply.code(201).send({ id: org.id, name: org.name, role: org.role, created_at: new Date(org.createdAt).toISOString() });
  });

  api.get('/api/v1/organizations', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Your organizations and your role in each.', response: { 200: Type.Object({ organizations: Type.Array(OrgView) }), 401: ErrorView } },
  }, async (request) => {
    const user = await requireUser(request);
    const list = await orgs.listFor(user.id);
    return { organizations: list.map((org) => ({ id: org.id, name: org.name, role: org.role, created_at: new Date(org.createdAt).toISOString() })) };
  });

  api.get('/api/v1/organizations/:org/members', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'The members of one of your organizations.', params: OrgParams, response: { 200: Type.Object({ members: Type.Array(MemberView) }), 401: ErrorView, 404: ErrorView } },
  }, async (request) => {
    const user = await requireUser(request);
    await orgs.require(request.params.org, user.id, 'links:write');
    return { members: (await orgs.members(request.params.org)).map((member) => ({ user_id: member.userId, username: member.username, role: member.role })) };
  });

  api.post('/api/v1/organizations/:org/members', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Add an account to an organization you administer (by username).', params: OrgParams, body: Type.Object({ username: Type.String({ maxLength: 100 }), role: Type.Optional(RoleSchema) }), response: { 201: MemberView, 401: ErrorView, 403: ErrorView, 404: ErrorView, 409: ErrorView } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    await orgs.require(request.params.org, user.id, 'members:write');
    const member = await orgs.addMember(request.params.org, request.body.username, request.body.role ?? 'member', kit.ctx.clock.now());
    return reply.code(201).send({ user_id: member.userId, username: member.username, role: member.role });
  });

  api.delete('/api/v1/organizations/:org/members/:username', {
    schema: { tags, security: SESSION_COOKIE_AUTH, summary: 'Remove a member (admins; anyone may remove themselves). Their chat links in the organization go too.', params: Type.Object({ org: Type.String({ pattern: ORG_ID_PATTERN }), username: Type.String({ maxLength: 100 }) }), response: { 204: Type.Null(), 401: ErrorView, 403: ErrorView, 404: ErrorView, 409: ErrorView } },
  }, async (request, reply) => {
    const user = await requireUser(request);
    const self = request.params.username.trim().toLowerCase() === user.username;
    await orgs.require(request.params.org, user.id, self ? 'links:write' : 'members:write');
    await orgs.removeMember(request.params.org, request.params.username);
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
      response: { 204: Type.Null(), 401: ErrorView, 403: ErrorView, 404: ErrorView },
    },
  }, async (request, reply) => {
    const user = await requireUser(request);
    await deleteOrganization(kit, user, request.params.org);
    return reply.code(204).send(null);
  });
}
