import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InvalidRequestError, NotFoundError, PairgateError } from '../../../core/errors.js';
import { hashToken } from '../../../core/ids.js';
import type { ErrorShape } from '../../../server/error-shapes.js';
import { ChatKit } from '../chat-kit.js';
import { ChatCommands, type TypedLinkToken } from '../chat-commands.js';
import type { Connector, VerifiedCall } from '../connector.js';
import { jsonBodyParser } from '../../../server/json-body.js';
import { acceptJsonOnly } from '../json-only.js';
import { answerUnknownCalls } from '../unknown-calls.js';
import { runClaimed } from '../unchanged-refusals.js';
import { CallCodes, SharedAnswerNotes } from '../error-descriptions.js';
import { MAX_SKEW_SECONDS, ReplayedCallError, seenSignatureTtlMs, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, verifyWebhookSignature } from './webhook-signature.js';

const NAME = 'webhook';
/** Where the connector's calls live: every answer under it is in its error shape. */
const PREFIX = '/webhook';
const tags = ['install'];
const BODY_LIMIT = 16_384;

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes of a webhook call's body, which its signature covers. */
    webhookRawBody?: string;
  }
}

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
const CommandBody = Type.Object({
  user_id: Type.String({ pattern: '^[A-Za-z0-9_.@:-]{1,128}$' }),
  user_name: Type.Optional(Type.String({ maxLength: 128 })),
  text: Type.String({ maxLength: 512 }),
}, { additionalProperties: false });
const InstallBody = Type.Object({ site_url: Type.String({ maxLength: 2048 }) }, { additionalProperties: false });
/** The uninstall call says nothing but that it is signed: `{}`. */
const UninstallBody = Type.Object({}, { additionalProperties: false });
/**
 * A call's answer, described for one route: the document takes a response's description from its
 * schema, so each route's gets its own.
 */
const answer = (description: string) => Type.Object({ ok: Type.Boolean(), text: Type.String(), data: Type.Optional(Type.Unknown()) }, { description });
/** A call's error (`webhookErrorShape`) whose `error` is one of the codes `codes` names. */
const refusal = (codes: string) => Type.Object({ ok: Type.Literal(false), error: Type.String(), text: Type.String() }, { description: `\`{ok: false, error, text}\`, the code in \`error\`: ${codes}.` });

// Every call's signature is checked before anything else it answers (`verifyWebhookSignature`).
const SIGNATURE_REFUSED = `\`signature_missing\`: no ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header; \`signature_malformed\`: the timestamp is not Unix seconds; `
  + `\`signature_expired\`: the timestamp is more than ${MAX_SKEW_SECONDS} s from pairgate's clock; \`signature_invalid\`: not the HMAC of this installation's secret over the exact body`;
const REPLAYED = '`signature_replayed`: a call with this exact signature was received and accepted already (sign every call afresh; one refused for anything else may be sent again)';
/**
 * The documented error answers of the calls: not signed, or not with this installation's secret
 * (401); an unknown installation (404); a replayed call or one before the install (409); an
 * installation replaced by a newer setup, or expired before its install (410); and what the
 * install and the commands add to these.
 */
const CallErrors = {
  signature401: refusal(SIGNATURE_REFUSED),
  gone410: refusal(CallCodes.rotatedOrExpired),
  install404: refusal(`${CallCodes.installationNotFound}; ${CallCodes.installGone}`),
  install409: refusal(`${REPLAYED}; ${CallCodes.installConflicts}`),
  uninstall409: refusal(REPLAYED),
  command403: refusal(CallCodes.link403),
  command404: refusal(`${CallCodes.installationNotFound}; ${CallCodes.link404}; \`unknown_command\`: the text starts with none of \`link\`, \`unlink\`, \`status\` or \`help\``),
  command409: refusal(`${REPLAYED}; ${CallCodes.notInstalled}; ${CallCodes.link409}`),
  command410: refusal(`${CallCodes.rotatedOrExpired}; ${CallCodes.link410}`),
};

/** Errors as `{ok: false, error, text}` with the error's HTTP status. */
const webhookErrorShape: ErrorShape = (error) => ({ ok: false, error: error.code, text: error.message });

/** The calls a webhook sender POSTs to `/webhook/<installation id>/<call>`. */
const CALLS = ['install', 'command', 'uninstall'];

/** What a caller of `method` `path` under `/webhook` is told when no route answers. */
function unknownCallMessage(method: string, path: string): string {
  const name = /^\/webhook\/[^/]+\/([^/]+)$/.exec(path)?.[1];
  if (name !== undefined && CALLS.includes(name)) return `Webhook calls are signed POST requests: there is nothing at ${method} ${path}.`;
  return `pairgate has no webhook call at ${method} ${path}. It answers POST /webhook/<installation id>/install, POST /webhook/<installation id>/command and POST /webhook/<installation id>/uninstall (the install_url, command_url and uninstall_url a setup shows).`;
}

/** How a route wants its call checked (`verifySignedCall`). */
interface CallChecks {
  /** The install call may use a setup not installed yet. */
  forInstall?: boolean;
  /** The uninstall call: the signature alone decides, whatever the installation's state. */
  anyState?: boolean;
}

/**
 * Checks a signed webhook call, in this order: the installation exists, the signature and its
 * timestamp (`verifyWebhookSignature`), the installation's state, then what the route reads from
 * the signed body (`readBody`: a site_url that is no URL, an unknown command are refused there);
 * only then is the signature spent (`spendSignature`). A call refused by any of these did nothing,
 * so it keeps its signature: a sender retrying it unchanged once the refusal no longer holds (the
 * install done after a command came too early) is answered, and one retrying a body refusal is
 * told the same refusal again, not that its call was replayed.
 */
async function verifySignedCall<Input>(request: FastifyRequest, installationId: string, kit: ChatKit, checks: CallChecks, readBody: () => Input): Promise<VerifiedCall & { input: Input; release: () => Promise<void> }> {
  const { installation, secret } = await kit.installationWithSecret(NAME, installationId);
  if (secret === undefined) throw new SignatureError('signature_invalid', 'The signature does not match this installation\'s secret.');
  const now = kit.ctx.clock.now();
  verifyWebhookSignature(secret, request.headers, request.webhookRawBody ?? '', now);
  if (!checks.anyState) kit.assertUsable(installation, webhookConnector, checks.forInstall ?? false);
  const input = readBody();
  const release = await spendSignature(request, installation.id, kit, now);
  const body = request.body as { user_id?: string; user_name?: string };
  return { installation, caller: body.user_id ? { externalUserId: body.user_id, externalUsername: body.user_name ?? null } : null, input, release };
}

/**
 * Accepts a verified call's signature once: a captured call passes the signature check for
 * minutes, so each signature is counted in the ephemeral store (one atomic count, shared by every
 * node) and refused the second time, 409 `signature_replayed`. The count is the claim: of two
 * identical deliveries at once, on any nodes, exactly one gets 1 and goes on. Returns how to give
 * the claim back, for a command refused having changed nothing (`runClaimed`).
 */
async function spendSignature(request: FastifyRequest, installationId: string, kit: ChatKit, now: number): Promise<() => Promise<void>> {
  // The headers are strings here: verifyWebhookSignature refused anything else.
  const timestamp = String(request.headers[TIMESTAMP_HEADER]);
  const key = `webhook-seen:${installationId}:${hashToken(String(request.headers[SIGNATURE_HEADER]))}`;
  const seen = await kit.ctx.stores.ephemeral.increment(key, seenSignatureTtlMs(timestamp, now), now);
  if (seen.count > 1) throw new ReplayedCallError();
  return () => kit.ctx.stores.ephemeral.delete(key);
}

/** The origin of an install call's `site_url`, or 400 `invalid_site_url`. */
function siteOriginOf(siteUrl: string): string {
  if (!URL.canParse(siteUrl) || !/^https?:$/.test(new URL(siteUrl).protocol)) throw new InvalidRequestError('site_url must be an http(s) URL.', { field: 'site_url' }, 'invalid_site_url');
  return new URL(siteUrl).origin;
}

/** The commands a webhook call's text may start with (`help` also when it is empty). */
const COMMAND_VERBS = ['link', 'unlink', 'status', 'help'] as const;

/** A command as read from a call's text: its verb, and for `link` the token typed. */
type Command = { verb: 'link'; token: TypedLinkToken } | { verb: Exclude<(typeof COMMAND_VERBS)[number], 'link'> };

/**
 * A command call's text read into its command, or 404 `unknown_command`; a link's token is read
 * too (`ChatCommands.readToken`: 400 `link_token_missing`, `link_token_malformed`), here, before
 * the signature is spent, so a link refused for what was typed may be sent again unchanged and is
 * told the same again.
 */
function commandOf(text: string, commands: ChatCommands): Command {
  const [typed = '', ...rest] = text.trim().split(/\s+/);
  const verb = COMMAND_VERBS.find((known) => known === typed.toLowerCase()) ?? (typed === '' ? 'help' : undefined);
  if (verb === undefined) throw new NotFoundError(`Unknown command "${typed.slice(0, 20)}". Try help.`, 'unknown_command');
  return verb === 'link' ? { verb, token: commands.readToken(rest.join(' ')) } : { verb };
}

/**
 * A generic chat connector: any chat or bot that can send a signed HTTP request (a slash command
 * relayed by a small bot, an ops tool). The setup gives a command URL and a signing secret; calls
 * carry `X-Pairgate-Timestamp` and `X-Pairgate-Signature: v1=<hex HMAC-SHA256 of
 * "v1:<timestamp>:<body>">`, like Slack's request signing. It needs nothing outside this folder
 * but its line in connectors.ts: the proof that the connector interface is enough.
 */
export const webhookConnector: Connector = {
  name: NAME,
  displayName: 'Signed webhook',
  pageNames: { en: { name: 'signed webhook', object: 'a signed webhook' }, fr: { name: 'webhook signé', object: 'un webhook signé' } },
  setupSchema: Type.Object({
    install_url: Type.String({ description: 'POST a signed {"site_url": ...} here once, to link your chat or bot.' }),
    command_url: Type.String({ description: 'POST signed {"user_id", "user_name", "text": "link <token>" | "unlink" | "status" | "help"} here.' }),
    uninstall_url: Type.String({ description: 'POST a signed {} here when your chat or bot removes pairgate: the installation and its chat links are deleted.' }),
    signing_secret: Type.String({ description: 'The HMAC-SHA256 key of the signatures, shown once.' }),
  }),
  linkCommand: (token) => `link ${token}`,
  // There is no command to run here: the admin hands the URLs and the secret to their chat or bot.
  setupSteps: {
    en: 'Then give the URLs and the signing secret to your chat or bot: it sends one signed POST to the install URL to link it, each person\'s command to the command URL, and a signed {} to the uninstall URL when it removes pairgate.',
    fr: 'Puis donnez les URL et le secret de signature à votre messagerie ou à votre bot : il envoie un POST signé à l’URL d’installation pour la lier, la commande de chaque personne à l’URL de commande, et un {} signé à l’URL de désinstallation quand il retire pairgate.',
  },
  installStep: {
    en: 'your chat or bot sends one POST to the install URL the setup shows, signed with its signing secret.',
    fr: 'votre messagerie ou votre bot envoie un POST à l’URL d’installation que montre la configuration, signé avec son secret de signature.',
  },
  // A webhook has no install command: its sender installs it with one signed call.
  notInstalledYet: 'This installation is not installed yet: send its install call first, a POST of {"site_url": ...} to the install URL pairgate showed at the setup, signed with its signing secret.',

  describe(installationId, secret, baseUrl) {
    const calls = `${baseUrl}/webhook/${installationId}`;
    return { install_url: `${calls}/install`, command_url: `${calls}/command`, uninstall_url: `${calls}/uninstall`, signing_secret: secret };
  },

  async verifyCall(request: FastifyRequest, installationId: string, kit: ChatKit, options = {}): Promise<VerifiedCall> {
    return verifySignedCall(request, installationId, kit, options, () => undefined);
  },

  async register(app: FastifyInstance, kit: ChatKit) {
    const commands = new ChatCommands(kit);
    // A wrong method or path under /webhook is refused in the connector's shape, like its calls.
    await answerUnknownCalls(app, { prefix: PREFIX, shape: webhookErrorShape, bodyLimit: BODY_LIMIT, message: unknownCallMessage });
    await app.register(async (scope) => {
      // Under /webhook, what the router refuses before any route (a malformed %-escape, an id too
      // long) is said in this shape too: the caller is the chat server, whatever the path.
      kit.ctx.useErrorShape(scope, webhookErrorShape, { pathPrefixes: [PREFIX] });
      // Keep the exact bytes: the signature covers them, not a re-serialisation of the parsed JSON.
      // JSON only: a form would be read by the server's form parser and its signature, checked
      // over no bytes, refused as invalid, when the content type is what is wrong.
      // The server's JSON parser: a body poisoning a prototype is refused as everywhere else.
      const parseJson = jsonBodyParser(scope);
      acceptJsonOnly(scope, BODY_LIMIT, 'Webhook calls', (request, body, done) => {
        request.webhookRawBody = body;
        parseJson(request, body, done);
      });
      const api = scope.withTypeProvider<TypeBoxTypeProvider>();
      const limit = { rateLimit: { max: kit.cfg.PAIRGATE_INSTALL_CALLS_PER_MINUTE, timeWindow: 60_000 } };

      api.post('/webhook/:id/install', {
        schema: { tags, summary: 'Signed webhook: link the installation to your chat or bot (once; again from the same site updates it).', params: Params, body: InstallBody, response: { 200: answer('`{ok: true}`, its text naming the organization the installation is now linked with.'), 401: CallErrors.signature401, 404: CallErrors.install404, 409: CallErrors.install409, 410: CallErrors.gone410 } },
        bodyLimit: BODY_LIMIT,
        config: { ...limit, sharedAnswersAlso: { 400: SharedAnswerNotes.siteUrlRefused, 415: SharedAnswerNotes.callsTakeJson } },
      }, async (request) => {
        const call = await verifySignedCall(request, request.params.id, kit, { forInstall: true }, () => siteOriginOf(request.body.site_url));
        // An install refused having changed nothing (installed from another site) gives its signature back.
        const { organization } = await runClaimed(call.release, () => kit.install(call.installation, { siteUrl: call.input, botUserId: null, botToken: null }));
        return { ok: true, text: `Installed and linked with organization ${organization.name}` };
      });

      // The sender says pairgate was removed from its chat or bot. Like Mattermost's on_uninstall:
      // an installation pairgate no longer has (removed already, replaced, its organization
      // deleted) is answered ok, so a sender retrying its removal, or cleaning up after the fact,
      // is never stuck on an error; one it has goes only for a caller holding its secret, whatever
      // its state, with the chat links made through it.
      api.post('/webhook/:id/uninstall', {
        schema: { tags, summary: 'Signed webhook: pairgate forgets the installation and its chat links; link tokens are refused until a new setup is installed. An unknown or already removed installation answers ok.', params: Params, body: UninstallBody, response: { 200: answer('`{ok: true}`: the installation and its chat links are deleted, or pairgate had no installation with this id.'), 401: CallErrors.signature401, 409: CallErrors.uninstall409 } },
        bodyLimit: BODY_LIMIT,
        config: { ...limit, sharedAnswersAlso: { 415: SharedAnswerNotes.callsTakeJson } },
      }, async (request) => {
        let call: VerifiedCall;
        try {
          call = await verifySignedCall(request, request.params.id, kit, { anyState: true }, () => undefined);
        } catch (error) {
          // The installation is looked up before the signature is checked: one that is gone (here
          // or in a race with another removal) is nothing to remove, whoever asks.
          if (error instanceof PairgateError && error.code === 'installation_not_found') return { ok: true, text: 'pairgate had no installation with this id: nothing to remove.' };
          throw error;
        }
        const done = await kit.uninstall(call.installation);
        if (done.replaced) return { ok: true, text: ChatKit.REPLACED_UNINSTALL };
        const { organization } = done;
        return { ok: true, text: organization ? `Uninstalled: pairgate no longer answers here for organization ${organization.name}. To use it again, an admin sets it up again at ${kit.ctx.publicUrl()}/integrations and installs the new setup.` : 'Uninstalled.' };
      });

      api.post('/webhook/:id/command', {
        schema: { tags, summary: 'Signed webhook: run `link <token>`, `unlink`, `status` or `help` for a chat user.', params: Params, body: CommandBody, response: { 200: answer('`{ok: true}`, the command\'s answer as text for the person and as facts in `data` (`linked`, `username`, ...).'), 401: CallErrors.signature401, 403: CallErrors.command403, 404: CallErrors.command404, 409: CallErrors.command409, 410: CallErrors.command410 } },
        bodyLimit: BODY_LIMIT,
        config: { ...limit, sharedAnswersAlso: { 400: SharedAnswerNotes.linkTokenRefused, 429: SharedAnswerNotes.wrongLinkTokens, 415: SharedAnswerNotes.callsTakeJson } },
      }, async (request) => {
        const call = await verifySignedCall(request, request.params.id, kit, {}, () => commandOf(request.body.text, commands));
        const caller = call.caller!;
        const { input } = call;
        // A command refused having changed nothing gives its signature back (`runClaimed`).
        const answer = await runClaimed(call.release, async () => {
          switch (input.verb) {
            case 'link': return commands.link(call.installation, caller, input.token);
            case 'unlink': return commands.unlink(call.installation, caller);
            case 'status': return commands.status(call.installation, caller);
            case 'help': return commands.help();
          }
        });
        return { ok: true, text: answer.text, data: answer.data };
      });
    });
  },
};

