import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InvalidRequestError, PairgateError } from '../../../core/errors.js';
import { ChatKit } from '../chat-kit.js';
import { ChatCommands, type TypedLinkToken } from '../chat-commands.js';
import { readLinkToken } from '../link-tokens.js';
import type { Connector, VerifiedCall } from '../connector.js';
import { bearerOf, CallAuthError, MATTERMOST_AUTH_HEADER, verifyCallJwt, WRONG_SECRET_TEXT } from './call-jwt.js';
import { CallRequestSchema, InstallationParams, type CallRequest } from './call-request.js';
import { refuseReplayedCall } from './call-replay.js';
import { CallErrors, callResponse, type CallResponseSchema, mattermostErrorShape, ok } from './call-response.js';
import { SharedAnswerNotes } from '../error-descriptions.js';
import { mattermostBindings } from './bindings.js';
import { MATTERMOST_APP_ID, mattermostManifest } from './manifest.js';
import { jsonBodyParser } from '../../../server/json-body.js';
import { acceptJsonOnly } from '../json-only.js';
import { answerUnknownCalls } from '../unknown-calls.js';
import { runClaimed } from '../unchanged-refusals.js';
import { escapeMarkdown } from './markdown.js';

const NAME = 'mattermost';
/** Where the connector's calls live: every answer under it is in its error shape. */
const PREFIX = '/mattermost';
const tags = ['install'];
const BODY_LIMIT = 65_536;

/** The site URL Mattermost reports, checked (http or https, no credentials) and without a trailing slash. */
function siteUrlOf(raw: string | undefined): string {
  if (!raw || !URL.canParse(raw)) throw new InvalidRequestError('context.mattermost_site_url must be the http(s) URL of the Mattermost server.', { field: 'context.mattermost_site_url' }, 'invalid_site_url');
  const url = new URL(raw);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    throw new InvalidRequestError('context.mattermost_site_url must be the http(s) URL of the Mattermost server.', { field: 'context.mattermost_site_url' }, 'invalid_site_url');
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The calls Mattermost POSTs to `/mattermost/<installation id>/<call>`. */
const CALLS = ['install', 'uninstall', 'bindings', 'ping', 'link', 'unlink', 'status', 'help'];

/**
 * What a caller of `method` `path` under `/mattermost` is told when no route answers: a call sent
 * with the wrong method (a browser or curl's GET), or a path pairgate does not serve, with the ones it does.
 */
function unknownCallMessage(method: string, path: string): string {
  const name = /^\/mattermost\/[^/]+\/([^/]+)$/.exec(path)?.[1];
  if (name !== undefined && CALLS.includes(name)) return `Mattermost calls are POST requests: there is nothing at ${method} ${path}.`;
  if (name === 'manifest.json') return `The app manifest is read with GET: there is nothing at ${method} ${path}.`;
  return `pairgate has no Mattermost call at ${method} ${path}. It answers POST /mattermost/<installation id>/{${CALLS.join(',')}} and GET /mattermost/<installation id>/manifest.json (the link a setup shows).`;
}

/** 400 `acting_user_missing`: a call that acts for a user names none. */
function actingUserMissing(): InvalidRequestError {
  return new InvalidRequestError('context.acting_user is required: expand acting_user.', { field: 'context.acting_user' }, 'acting_user_missing');
}

/** How a route wants its call checked. */
interface CallChecks {
  /** The install callback (and ping) may use a setup not installed yet. */
  forInstall?: boolean;
  /** A call that changes something (`link`, `unlink`): refused the second time it arrives meaning the same (`refuseReplayedCall`). */
  once?: string;
  /** The uninstall callback: the signature alone decides, whatever the installation's state (a rotated or expired one may go too). */
  anyState?: boolean;
}

/**
 * What a route reads from a call's body: `input`, what its command takes, and `target`, the
 * canonical form of what the call acts on beyond its user, for the replay fingerprint
 * (`CallFingerprint.target`).
 */
interface BodyRead<Input> {
  input: Input;
  target: string;
}

/**
 * A link token `readToken` accepted, as pairgate looks it up: its code, however it was typed (case,
 * dashes, spaces, look-alike letters), so a captured link call sent again with its token spelt
 * another way is the same call.
 */
function linkTokenCode(token: TypedLinkToken): string {
  const read = readLinkToken(token);
  // readToken let through only tokens that read; the text typed stands in should that ever change.
  return read.ok ? read.code : token;
}

/**
 * Checks a Mattermost call: the installation exists, the JWT (HS256 with its secret, time limits),
 * the acting user of the token against the body's, then the installation's state; for a
 * state-changing call, that it names its user, then what the route reads from the body
 * (`readBody`: a link's token), and last that no call meaning the same was received before
 * (`refuseReplayedCall`), so only a call that passed every other check is remembered: the memory
 * is keyed on what a call means, so a call refused for its body or its user, remembered, would
 * have the good call meaning the same, sent after it, refused as replayed.
 */
async function verifyMattermostCall<Input = undefined>(request: FastifyRequest, installationId: string, kit: ChatKit, options: CallChecks = {}, readBody: () => BodyRead<Input> = () => ({ input: undefined as Input, target: '' })): Promise<VerifiedCall & { input: Input; release: () => Promise<void> }> {
  const { installation, secret } = await kit.installationWithSecret(NAME, installationId);
  const token = bearerOf(request.headers[MATTERMOST_AUTH_HEADER]);
  if (secret === undefined) {
    // Sealed under another server key: a configuration problem of this server, said in its log.
    kit.ctx.logger.warn({ installation: installation.id }, 'installation secret cannot be unsealed: was PAIRGATE_INSTALL_SECRET_KEY changed?');
    throw new CallAuthError('jwt_signature_invalid', WRONG_SECRET_TEXT);
  }
  const now = kit.ctx.clock.now();
  const { actingUserId, expiresAt } = await verifyCallJwt(token, secret, now, kit.cfg.PAIRGATE_INSTALL_JWT_MAX_AGE_SECONDS, [MATTERMOST_APP_ID, kit.ctx.publicUrl()]);
  const body = request.body as CallRequest;
  // context.acting_user comes with `expand: {acting_user: ...}`; calls without that expand (the
  // bindings call of the manifest) carry only context.acting_user_id. Both, when given, must agree.
  const expanded = body.context.acting_user?.id;
  const plain = body.context.acting_user_id;
  if (expanded !== undefined && plain !== undefined && expanded !== plain) throw new CallAuthError('acting_user_mismatch', 'context.acting_user.id differs from context.acting_user_id.');
  const bodyUser = expanded ?? plain;
  // The token names who acts; a body claiming someone else is a replay or a forgery.
  if (actingUserId !== bodyUser) throw new CallAuthError('acting_user_mismatch', 'acting_user_id of the call token differs from context.acting_user.id.');
  if (!options.anyState) kit.assertUsable(installation, mattermostConnector, options.forInstall ?? false);
  // A link or unlink acts for a user: one without is refused before it is remembered, so the same
  // call sent again is told what is wrong with it again, not that it was received already.
  if (options.once && !bodyUser) throw actingUserMissing();
  // Likewise what the route refuses in the body (a link token missing or malformed).
  const { input, target } = readBody();
  // The token covers neither the body nor the route and lives 15 minutes: a captured link or
  // unlink call could be played again, in any spelling. Remember what each one means until its
  // token expires, only now that every refusal that leaves it undone (signature, acting user,
  // state, body) is passed: a call refused as not installed yet is answered when sent again after
  // the install, and one refused for its body leaves the good one meaning the same free to run.
  const release = options.once && bodyUser
    ? await refuseReplayedCall(kit.ctx.stores.ephemeral, { installationId: installation.id, jwt: token, call: options.once, actingUserId: bodyUser, target, expiresAt }, now)
    : async () => {};
  return { release, installation, caller: bodyUser ? { externalUserId: bodyUser, externalUsername: expanded !== undefined ? body.context.acting_user?.username ?? null : null } : null, input };
}

/**
 * Mattermost (Apps framework, HTTP app with JWT): the admin runs `/apps install http <manifest
 * link>` and pastes the secret as the app's JWT secret; Mattermost then calls
 * `/mattermost/<installation id>/...` with `Mattermost-App-Authorization: Bearer <JWT>` (HS256
 * with that secret). Answers are Apps call responses, errors included.
 */
export const mattermostConnector: Connector = {
  name: NAME,
  displayName: 'Mattermost',
  pageNames: { en: { name: 'Mattermost', object: 'Mattermost' }, fr: { name: 'Mattermost', object: 'Mattermost' } },
  setupSchema: Type.Object({
    manifest_link: Type.String({ description: 'The app manifest; run the install command with it.' }),
    jwt_secret: Type.String({ description: 'The app\'s outgoing JWT secret, shown once: paste it when Mattermost asks.' }),
    install_command: Type.String({ description: 'The command to run in Mattermost as a system admin.' }),
  }),

  linkCommand: (token) => `/pairgate link ${token}`,
  setupSteps: {
    en: 'Then, in Mattermost, run the install command as a system admin and paste the JWT secret when asked.',
    fr: 'Puis, dans Mattermost, lancez la commande d’installation en administrateur système et collez le secret JWT quand il est demandé.',
  },
  installStep: {
    en: 'run the install command the setup shows in Mattermost, as a system admin, and paste the JWT secret when asked.',
    fr: 'lancez dans Mattermost la commande d’installation que montre la configuration, en administrateur système, et collez le secret JWT quand il est demandé.',
  },
  notInstalledYet: 'This installation is not installed yet: run its install command in Mattermost first, as a system admin, and paste the JWT secret pairgate showed at the setup.',

  describe(installationId, secret, baseUrl) {
    const manifestLink = `${baseUrl}/mattermost/${installationId}/manifest.json`;
    return { manifest_link: manifestLink, jwt_secret: secret, install_command: `/apps install http ${manifestLink}` };
  },

  verifyCall(request: FastifyRequest, installationId: string, kit: ChatKit, options = {}): Promise<VerifiedCall> {
    return verifyMattermostCall(request, installationId, kit, options);
  },

  async register(app: FastifyInstance, kit: ChatKit) {
    // Mattermost renders an answer's text as markdown: the names put in it are escaped.
    const commands = new ChatCommands(kit, '/pairgate', escapeMarkdown);
    // A wrong method or path under /mattermost is answered as a call response too, so Mattermost
    // shows its text rather than a bare failure.
    await answerUnknownCalls(app, { prefix: PREFIX, shape: mattermostErrorShape, bodyLimit: BODY_LIMIT, message: unknownCallMessage });
    await app.register(async (scope) => {
      // Under /mattermost, what the router refuses before any route (a malformed %-escape, an id too
      // long) is said in this shape too: the caller is the chat server, whatever the path.
      kit.ctx.useErrorShape(scope, mattermostErrorShape, { pathPrefixes: [PREFIX] });
      // The server's JSON parser (Fastify's limits and prototype-poisoning checks, a poisoned body
      // told as such). The body's bytes are not kept: a link or unlink is remembered by what it
      // means (`refuseReplayedCall`), not by how it is spelt.
      // Mattermost sends JSON only: anything else is a 415 that says so (`acceptJsonOnly`).
      acceptJsonOnly(scope, BODY_LIMIT, 'Mattermost calls', jsonBodyParser(scope));
      const api = scope.withTypeProvider<TypeBoxTypeProvider>();
      const callLimit = { rateLimit: { max: kit.cfg.PAIRGATE_INSTALL_CALLS_PER_MINUTE, timeWindow: 60_000 } };
      // Errors are call responses too (`mattermostErrorShape`) under their status: a bad call token
      // (401), an unknown installation (404), one not installed yet (409, also a replayed link or
      // unlink), one replaced by a newer setup or expired before its install (410). Each route
      // lists those it can answer, described by their codes (`CallErrors`).
      const usableCallErrors = { 401: CallErrors.token401, 404: CallErrors.notFound, 409: CallErrors.notInstalled, 410: CallErrors.gone };
      const callSchema = (summary: string, answer: string, errors: Record<number, typeof CallResponseSchema> = usableCallErrors) =>
        ({ tags, summary, params: InstallationParams, body: CallRequestSchema, response: { 200: callResponse(answer), ...errors } });
      const withCaller = (call: VerifiedCall) => {
        if (!call.caller) throw actingUserMissing();
        return call.caller;
      };

      api.get('/mattermost/:id/manifest.json', {
        schema: { tags, summary: 'The Mattermost app manifest of an installation (public; nothing secret).', params: InstallationParams, response: { 200: Type.Unknown({ description: 'The app manifest.' }), 404: CallErrors.notFound, 410: CallErrors.gone } },
        config: callLimit,
      }, async (request, reply) => {
        const installation = await kit.installation(NAME, request.params.id);
        kit.assertUsable(installation, mattermostConnector, true);
        return reply.header('cache-control', 'no-store').send(mattermostManifest(installation.id, kit.ctx.publicUrl()));
      });

      api.post('/mattermost/:id/install', { schema: callSchema('Mattermost on_install: links the installation to the organization.', '`{type: "ok"}`, its text naming the organization the installation is now linked with.', { ...usableCallErrors, 404: CallErrors.install404, 409: CallErrors.install409 }), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 400: SharedAnswerNotes.siteUrlRefused, 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        const call = await verifyMattermostCall(request, request.params.id, kit, { forInstall: true });
        const context = request.body.context;
        const { organization } = await kit.install(call.installation, {
          siteUrl: siteUrlOf(context.mattermost_site_url),
          botUserId: context.bot_user_id ?? context.app?.bot_user_id ?? null,
          botToken: context.bot_access_token ?? context.app?.bot_access_token ?? null,
        });
        return ok(`Installed and linked with organization ${escapeMarkdown(organization.name)}`);
      });

      // Mattermost calls it before removing the app, and cancels the removal when it answers an error:
      // an installation pairgate no longer has (replaced, or its organization deleted) is answered
      // ok, so an admin is never kept from removing the app; one it has is removed only for a
      // caller holding its secret.
      api.post('/mattermost/:id/uninstall', { schema: callSchema('Mattermost on_uninstall: pairgate forgets the installation and its chat links; link tokens are refused until a new setup is installed.', '`{type: "ok"}`: the installation and its chat links are forgotten, or pairgate had no installation with this id.', { 401: CallErrors.token401 }), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        let call: VerifiedCall;
        try {
          call = await verifyMattermostCall(request, request.params.id, kit, { anyState: true });
        } catch (error) {
          // The installation is looked up before the token is checked: one that is gone (here or in
          // a race with another removal, between a look-up and the check) is nothing to remove.
          if (error instanceof PairgateError && error.code === 'installation_not_found') return ok('pairgate had no installation with this id: nothing to remove.');
          throw error;
        }
        const done = await kit.uninstall(call.installation);
        if (done.replaced) return ok(ChatKit.REPLACED_UNINSTALL);
        const { organization } = done;
        return ok(organization ? `Uninstalled: pairgate no longer answers here for organization ${escapeMarkdown(organization.name)}. To use it again, an admin sets it up again at ${kit.ctx.publicUrl()}/integrations and installs the new setup.` : 'Uninstalled.');
      });

      api.post('/mattermost/:id/bindings', { schema: callSchema('Mattermost bindings: the /pairgate command.', '`{type: "ok"}`, the bindings of the /pairgate command in `data`.'), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        const call = await verifyMattermostCall(request, request.params.id, kit);
        return { type: 'ok' as const, data: mattermostBindings(call.installation.id) };
      });

      api.post('/mattermost/:id/ping', { schema: callSchema('Mattermost ping of one installation.', '`{type: "ok", text: "pong"}`: the installation answers, installed or a setup waiting for its install.', { 401: CallErrors.token401, 404: CallErrors.notFound, 410: CallErrors.gone }), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        await verifyMattermostCall(request, request.params.id, kit, { forInstall: true });
        return ok('pong');
      });

      api.post('/mattermost/:id/link', { schema: callSchema('/pairgate link <token>: links the acting user to the account that made the token.', '`{type: "ok"}`, its text for the person; `data`: `linked`, the `username` linked to, and `replaced`, the account it took the place of, if any.', { 401: CallErrors.token401, 403: CallErrors.link403, 404: CallErrors.link404, 409: CallErrors.link409, 410: CallErrors.link410 }), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 400: `${SharedAnswerNotes.actingUserMissing} ${SharedAnswerNotes.linkTokenRefused}`, 429: SharedAnswerNotes.wrongLinkTokens, 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        // The token typed is read before the call is remembered: one missing or malformed is told
        // so again when the same call comes again, not that it was replayed.
        // The token, read as pairgate looks it up, is what the call acts on: its replay fingerprint.
        const call = await verifyMattermostCall(request, request.params.id, kit, { once: 'link' }, () => {
          const token = commands.readToken(request.body.values?.token ?? undefined);
          return { input: token, target: linkTokenCode(token) };
        });
        // A link refused having changed nothing (a token already used, say) is forgotten (`runClaimed`).
        const answer = await runClaimed(call.release, () => commands.link(call.installation, withCaller(call), call.input));
        return ok(answer.text, answer.data);
      });

      api.post('/mattermost/:id/unlink', { schema: callSchema('/pairgate unlink.', '`{type: "ok"}`, its text for the person; `data.unlinked` says whether there was a link to remove.', { ...usableCallErrors, 409: CallErrors.unlink409 }), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 400: SharedAnswerNotes.actingUserMissing, 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        const call = await verifyMattermostCall(request, request.params.id, kit, { once: 'unlink' });
        const answer = await commands.unlink(call.installation, withCaller(call));
        return ok(answer.text, answer.data);
      });

      api.post('/mattermost/:id/status', { schema: callSchema('/pairgate status.', '`{type: "ok"}`, its text for the person; `data`: whether the acting user is `linked`, and to which `username` since when (`linked_at`).'), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 400: SharedAnswerNotes.actingUserMissing, 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        const call = await verifyMattermostCall(request, request.params.id, kit);
        const answer = await commands.status(call.installation, withCaller(call));
        return ok(answer.text, answer.data);
      });

      api.post('/mattermost/:id/help', { schema: callSchema('/pairgate help.', '`{type: "ok"}`, the commands as text and their names in `data.commands`.'), bodyLimit: BODY_LIMIT, config: { ...callLimit, sharedAnswersAlso: { 415: SharedAnswerNotes.callsTakeJson } } }, async (request) => {
        await verifyMattermostCall(request, request.params.id, kit);
        const answer = commands.help();
        return ok(answer.text, answer.data);
      });

      // The Apps framework pings `<root_url>/ping` when installing; the answer reveals nothing.
      api.post('/ping', { schema: { tags, summary: 'Mattermost Apps ping of the root URL.', response: { 200: callResponse('`{type: "ok", text: "pong"}`, whoever asks.') } }, bodyLimit: BODY_LIMIT, config: callLimit }, async () => ok('pong'));
    });
  },
};
