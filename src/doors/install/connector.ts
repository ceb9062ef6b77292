import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TObject } from 'typebox';
import type { Lang } from '../accounts/i18n.js';
import type { ChatKit } from './chat-kit.js';
import type { Installation } from './installations.js';

/** The chat user a verified call acts for. */
export interface ChatCaller {
  /** The user's id on the chat server (stable; names change). */
  externalUserId: string;
  /** The user's name there, for messages only. */
  externalUsername: string | null;
}

/** A call whose signature checked out, for a usable installation. */
export interface VerifiedCall {
  installation: Installation;
  caller: ChatCaller | null;
}

/**
 * A connector's name in one language of the pages, in the two places sentences put it: `name`
 * bare, as a label (in parentheses, after a colon, before "link token"; the page capitalises it at
 * a line's start), so a common noun is written in lower case (`signed webhook`, `webhook signé`);
 * `object` after a verb ("Set up {object}"), with the article the language needs (`a signed
 * webhook`, `un webhook signé`; a proper name such as `Mattermost` takes none).
 */
export interface ConnectorNames {
  readonly name: string;
  readonly object: string;
}

/**
 * A chat connector: how one chat backend (Mattermost, a signed webhook, later Slack or Telegram)
 * installs pairgate and lets its users link their accounts. Everything backend-specific lives in
 * the connector's own folder; adding one is that folder plus one line in `connectors.ts`. The
 * shared parts (setup and rotation of installations and their sealed secrets, one-time link
 * tokens, links, their budgets, the link/unlink/status/help commands) are the `ChatKit`.
 */
export interface Connector {
  /** Path segment and stored name: `/api/v1/integrations/<name>/setup`. Lower-case letters and digits. */
  readonly name: string;
  /**
   * Name in English where it stands alone or starts a line, for programs and the API's
   * documentation (e.g. `Mattermost`, `Signed webhook: ...`); mid-sentence, pages and summaries
   * alike use `pageNames.en` ("Set up a signed webhook", not "Set up Signed webhook").
   */
  readonly displayName: string;
  /** How the pages name the connector in each of their languages (see `ConnectorNames`). */
  readonly pageNames: Readonly<Record<Lang, ConnectorNames>>;
  /**
   * The app description an admin gets from a setup, without `expires_at` (which the kit adds):
   * e.g. the manifest link, the secret under the name the chat backend gives it, and the command
   * to run there. Called once per setup, the only time the secret is shown.
   */
  describe(installationId: string, secret: string, baseUrl: string): Record<string, string>;
  /** What a person types in the chat to spend link token `token` (shown next to the token). */
  linkCommand(token: string): string;
  /**
   * What the admin does with a setup's values next, in every language of the pages (plain spaces;
   * the page sets French's no-break ones): said on the page that shows them once. Each backend
   * installs differently (a command to run in the chat, URLs to give a bot), so the page cannot
   * word it for all.
   */
  readonly setupSteps: Readonly<Record<Lang, string>>;
  /**
   * How a setup of this backend is installed, in a few words after its name (`{connector}: ...`),
   * in every language of the pages (plain spaces; the page sets French's no-break ones): the
   * integrations page lists it for an admin of an organization where nothing is installed yet,
   * one line per connector, since each installs differently (a command run in Mattermost, one
   * signed POST to a webhook's install URL) and no one sentence fits them all.
   */
  readonly installStep: Readonly<Record<Lang, string>>;
  /**
   * What a call made before its setup is installed is told (409 `installation_not_installed`), in
   * English for whoever set up the chat side: how this backend installs a setup (a command to run
   * in Mattermost; one signed POST to a webhook's install URL), since there is no wording for all.
   */
  readonly notInstalledYet: string;
  /** The TypeBox schema of what `describe` answers (for the OpenAPI document). */
  readonly setupSchema: TObject;
  /**
   * Verifies a call from the chat backend for installation `installationId` (its signature with
   * the installation's secret, which `kit.installationWithSecret` finds and unseals): the caller, or a
   * 4xx PairgateError with a stable code. `forInstall`: the install callback may use a setup not
   * installed yet; `anyState`: the uninstall callback, for which the signature alone decides
   * (a rotated or expired installation may go too).
   */
  verifyCall(request: FastifyRequest, installationId: string, kit: ChatKit, options?: { forInstall?: boolean; anyState?: boolean }): Promise<VerifiedCall>;
  /**
   * Registers the connector's callback routes (install, commands or bindings, its own error
   * shape) inside an encapsulated plugin of its own. Routes call `verifyCall` first, then the kit.
   */
  register(app: FastifyInstance, kit: ChatKit): Promise<void> | void;
}
