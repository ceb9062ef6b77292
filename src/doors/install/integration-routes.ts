import { SESSION_COOKIE_AUTH } from '../../server/openapi-security.js';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireUser } from '../accounts/accounts.js';
import type { User } from '../accounts/users.js';
import type { ChatKit } from './chat-kit.js';
import type { Connector } from './connector.js';
import { InstallApiErrors as Errors, SharedAnswerNotes } from './error-descriptions.js';
import { chooseOrg } from './org-choice.js';
import { ORG_ID_PATTERN } from './organizations.js';

const tags = ['install'];
const OrgBody = Type.Object({ org_id: Type.Optional(Type.String({ pattern: ORG_ID_PATTERN })) });
/** Answers that carry a secret must not be stored by any cache. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** A setup: the connector's description of the app, with the secret shown this once. */
export async function runSetup(kit: ChatKit, connector: Connector, user: User, orgId: string | undefined): Promise<Record<string, string>> {
  const org = await chooseOrg(kit.orgs, user.id, orgId, 'integrations:write');
  const { installation, secret } = await kit.installations.setup(org.id, connector.name, kit.cfg.PAIRGATE_INSTALL_SETUP_TTL_SECONDS * 1000, kit.ctx.clock.now(), user.id);
  kit.ctx.logger.info({ org: org.id, installation: installation.id, connector: connector.name }, 'chat installation set up');
  return { ...connector.describe(installation.id, secret, kit.ctx.publicUrl()), expires_at: new Date(installation.expiresAt!).toISOString() };
}

/** What a link token's creation answers over the API. */
export interface MadeLinkToken {
  token: string;
  expires_at: string;
  expires_in: number;
  org_id: string;
  org_name: string;
}

/**
 * A link token for the signed-in member, for `connector` in their organization, asked from
 * `network` (`request.clientNetwork`); only where `connector` is installed (`ChatKit.installedIn`).
 * Also returns the chat server the token links in (`siteUrl`, the installation's, as its install
 * call named it), which the page shows beside the account the token links to.
 */
export async function makeLinkToken(kit: ChatKit, connector: Connector, user: User, orgId: string | undefined, network: string): Promise<{ answer: MadeLinkToken; siteUrl: string | null }> {
  const org = await chooseOrg(kit.orgs, user.id, orgId, 'links:write');
  // Refused before any place among the live tokens is taken.
  const installation = await kit.installedIn(org, connector);
  const { token, expiresAt } = await kit.tokens.create({ orgId: org.id, connector: connector.name, userId: user.id, username: user.username, installationId: installation.id }, network);
  const answer = { token, expires_at: new Date(expiresAt).toISOString(), expires_in: Math.round((expiresAt - kit.ctx.clock.now()) / 1000), org_id: org.id, org_name: org.name };
  return { answer, siteUrl: installation.siteUrl };
}

/**
 * For each connector: `POST /api/v1/integrations/<name>/setup` (admins: `integrations:write`)
 * creates or rotates the organization's installation and shows its secret once;
 * `POST /api/v1/integrations/<name>/link-tokens` (members) makes a one-time link token.
 */
export function installIntegrationRoutes(app: FastifyInstance, kit: ChatKit, connectors: readonly Connector[]): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const connector of connectors) {
    // The summaries name the connector as the English pages do (`Connector.pageNames`): a display
    // name such as "Signed webhook" reads wrong mid-sentence ("Set up Signed webhook").
    const names = connector.pageNames.en;
    api.post(`/api/v1/integrations/${connector.name}/setup`, {
      schema: {
        tags,
        security: SESSION_COOKIE_AUTH,
        summary: `Set up ${names.object} for your organization (admin): a new installation and its secret, shown once; an earlier one stops working.`,
        body: Type.Optional(OrgBody),
        response: {
          201: Type.Object({ ...connector.setupSchema.properties, expires_at: Type.String({ description: 'When the setup expires unless installed.' }) }, { description: 'The new installation: what to give your chat to install it, its secret shown this once, and when it expires unless installed.' }),
          401: Errors.signIn,
          403: Errors.setup403,
          404: Errors.setup404,
        },
      },
      // No body at all means no org_id, as `{}` does (curl -X POST without -d).
      config: { optionalBody: true, sharedAnswersAlso: { 400: SharedAnswerNotes.orgIdRequired } },
    }, async (request, reply) => {
      const user = await requireUser(request);
      // The answer's fields are the connector's own (its setupSchema); the schema above serializes them.
      return reply.code(201).headers(NO_STORE).send((await runSetup(kit, connector, user, request.body?.org_id)) as never);
    });

    api.post(`/api/v1/integrations/${connector.name}/link-tokens`, {
      schema: {
        tags,
        security: SESSION_COOKIE_AUTH,
        summary: `A one-time token (member) to link your account in your chat (${names.name}), valid for a few minutes; only once pairgate is installed in it for the organization.`,
        body: Type.Optional(OrgBody),
        response: {
          201: Type.Object({ token: Type.String(), expires_at: Type.String(), expires_in: Type.Integer(), org_id: Type.String(), org_name: Type.String() }, { description: 'The link token, shown this once, when it expires (`expires_in`: seconds from now), and the organization it links in.' }),
          401: Errors.signIn,
          403: Errors.linkToken403,
          404: Errors.linkToken404,
          409: Errors.linkToken409,
          429: Errors.linkToken429,
        },
      },
      config: { rateLimit: { max: 30, timeWindow: 60_000 }, optionalBody: true, sharedAnswersAlso: { 400: SharedAnswerNotes.orgIdRequired, 503: SharedAnswerNotes.codeSpaceExhausted } },
    }, async (request, reply) => {
      const user = await requireUser(request);
      return reply.code(201).headers(NO_STORE).send((await makeLinkToken(kit, connector, user, request.body?.org_id, request.clientNetwork)).answer);
    });
  }
}
