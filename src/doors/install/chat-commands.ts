import { ConflictError, ExpiredError, ForbiddenError, InvalidRequestError, NotFoundError } from '../../core/errors.js';
import type { CodeProblem } from '../../core/codes.js';
import type { ChatKit } from './chat-kit.js';
import type { ChatCaller } from './connector.js';
import type { Installation } from './installations.js';
import { lifetimeText } from './lifetime.js';
import { readLinkToken } from './link-tokens.js';
import { changedNothing } from './unchanged-refusals.js';
import { withoutUnshowableText } from '../shared/shown-text.js';

declare const readMark: unique symbol;
/**
 * What a person typed after `link`, read by `ChatCommands.readToken`: it can be a link token
 * (nothing is looked up yet). `link` takes only this, so a route refuses a missing or malformed
 * token before its call is remembered as received, as it must.
 */
export type TypedLinkToken = string & { readonly [readMark]: true };

/** What a command answers: a text for the person, and facts for programs. */
export interface CommandAnswer {
  text: string;
  data: Record<string, unknown>;
}

/** A call that reached an installation whose organization was deleted meanwhile: the same 404 as once it is gone. */
const organizationGone = (): NotFoundError => new NotFoundError('This installation no longer exists: its organization was deleted in pairgate.', 'installation_not_found');

/** The page where members make link tokens. */
export const LINK_PAGE_PATH = '/integrations';

/** What a link token looks like, in the texts that help someone who typed one wrong. */
const TOKEN_EXAMPLE = 'k7m2x-9qdp4-r';
const TOKEN_LOOKS = `a link token has 11 letters and digits, like ${TOKEN_EXAMPLE} (dashes and spaces do not count)`;

/**
 * Why a typed link token cannot be one, in the words of the chat command (a link token, not the
 * "code" of the shared code reader), with what to do.
 */
function malformedText(outcome: { problem: CodeProblem; length: number; character?: string }, shown: (text: string) => string): string {
  switch (outcome.problem) {
    case 'check_failed':
      return 'This link token has a typo: a character is wrong or two are swapped. Check it against the one pairgate showed and type it again.';
    case 'bad_character':
      return `"${shown(outcome.character ?? '?')}" cannot appear in a link token: ${TOKEN_LOOKS}. Copy it again from pairgate.`;
    case 'wrong_length':
      return `This has ${outcome.length} letters and digits, but ${TOKEN_LOOKS}. Copy it again from pairgate.`;
    default:
      return `This is not a link token: ${TOKEN_LOOKS}.`;
  }
}

/**
 * The chat user's name as the member's page will show it (`install.linkedAs`): without control or
 * text-direction characters (`withoutUnshowableText`), since the chat, not pairgate, chose it (a
 * webhook's `user_name` is whatever its sender relays), and a U+202E in it turned the rest of the
 * page's line around. Taken out, not refused: the person cannot always change their chat name,
 * and the name is only shown. None when nothing is left (the page then names the chat user's id).
 * The member's page cleans again at display: links stored before names were cleaned here may
 * hold such characters.
 */
export function shownChatName(name: string | null): string | null {
  if (name === null) return null;
  const shown = withoutUnshowableText(name);
  return shown === '' ? null : shown;
}

/**
 * The commands every connector offers (`link <token>`, `unlink`, `status`, `help`), written once
 * against the kit; connectors only map them onto their wire format. Failures are PairgateErrors
 * with stable codes, which each connector renders in its own error shape.
 */
export class ChatCommands {
  /**
   * @param prefix what a person types before a command in this chat (`/pairgate` in Mattermost;
   *   empty for the webhook, whose sender decides): every answer that tells them what to run next
   *   names the command as they must type it, or they try `link <token>` alone and nothing answers.
   * @param shownName how a pairgate username, or a character the person typed, is written into an
   *   answer's text for this chat: a chat that renders the text as markdown (Mattermost) escapes
   *   it, so it is never read as markup (`mattermost/markdown.ts`); as it is for a chat that shows
   *   plain text (the webhook).
   */
  constructor(
    private readonly kit: ChatKit,
    private readonly prefix = '',
    private readonly shownName: (name: string) => string = (name) => name,
  ) {}

  /** A command as the person types it here. */
  private command(words: string): string {
    return this.prefix ? `${this.prefix} ${words}` : words;
  }

  /** The page where members make link tokens, as a full address. */
  private linkPage(): string {
    return `${this.kit.ctx.publicUrl()}${LINK_PAGE_PATH}`;
  }

  /** 400 `link_token_malformed`: what was typed cannot be a link token (said before any look-up, counted as no guess). */
  private malformed(text: string): InvalidRequestError {
    return new InvalidRequestError(text, { field: 'token' }, 'link_token_malformed');
  }

  /** How long a link token lives, in words (`5 minutes`, `30 seconds`). */
  private lifetime(): string {
    return lifetimeText(this.kit.cfg.PAIRGATE_INSTALL_LINK_TOKEN_TTL_SECONDS);
  }

  /**
   * Reads what a person typed after `link`, looking nothing up and changing nothing: 400
   * `link_token_missing` (nothing, or the help's placeholder) or `link_token_malformed` (it cannot
   * be a link token: too long, a character or length no token has, a typo the check character
   * catches), else the token for `link`. A route calls it before the call's signature is spent
   * (the claim of a signed call): a refusal here did nothing, so the same call sent again, as a
   * chat server or sender retrying a delivery does, is told the same refusal, not that it was
   * replayed.
   */
  readToken(typed: string | undefined): TypedLinkToken {
    // Quotes or backticks around a token copied from a message are not part of it.
    const token = (typed ?? '').trim().replace(/^[`'"‘“]+|[`'"’”]+$/g, '').trim();
    if (token === '') throw new InvalidRequestError(`Give the link token: ${this.command('link <token>')}. Create one at ${this.linkPage()} first.`, { field: 'token' }, 'link_token_missing');
    // The placeholder of the help text, typed as it is: say what goes there.
    if (/^<[^>]*>$/.test(token)) throw new InvalidRequestError(`Replace ${token} with your link token: ${this.command(`link ${TOKEN_EXAMPLE}`)}, with the token pairgate showed you. Create one at ${this.linkPage()}.`, { field: 'token' }, 'link_token_missing');
    if (token.length > 64) throw this.malformed(`This is not a link token: ${TOKEN_LOOKS}.`);
    const read = readLinkToken(token);
    if (!read.ok) throw this.malformed(malformedText(read, this.shownName));
    return token as TypedLinkToken;
  }

  /**
   * Links the caller to the account that made `token` (read by `readToken`). The token must be
   * live, unspent and made for this organization and connector; a wrong one counts against the
   * caller's and the installation's budgets (a malformed one was refused by `readToken`, counted
   * as no guess).
   */
  async link(installation: Installation, caller: ChatCaller, token: TypedLinkToken): Promise<CommandAnswer> {
    const outcome = await this.kit.budget.run(installation.id, caller.externalUserId,
      () => this.kit.tokens.spend(token, installation.orgId, installation.connector, { externalUserId: caller.externalUserId, installationId: installation.id }),
      // A malformed token (told apart by its check character) or a spent one guesses nothing.
      (result) => !result.ok && result.reason === 'unknown');
    if (!outcome.ok) {
      // These refusals only looked things up (the token left unspent, no wrong guess counted):
      // the call's claim is given back (`runClaimed`). An unknown token counted a wrong guess.
      if (outcome.reason === 'malformed') throw changedNothing(this.malformed(malformedText(outcome, this.shownName)));
      if (outcome.reason === 'used') throw changedNothing(new ConflictError(`This link token has already been used. Create a new one at ${this.linkPage()}.`, 'link_token_used'));
      if (outcome.reason === 'gone') throw changedNothing(organizationGone());
      if (outcome.reason === 'uninstalled') throw changedNothing(new ExpiredError(`This link token was made while pairgate was installed here through an earlier installation, since uninstalled or replaced by a new setup, so it links nothing now. Create a new one at ${this.linkPage()}.`, 'link_token_installation_gone'));
      // A spent token is no longer found, like an expired one: say every case, so a person who
      // pastes the same token twice knows why.
      // One made for another organization or chat is not spent here and is said no differently.
      throw new NotFoundError(`This link token is unknown here, already used or expired (a token works once, for ${this.lifetime()}, in the organization and chat it was made for). Create a new one at ${this.linkPage()}.`, 'link_token_unknown');
    }
    const maker = outcome.grant.request;
    const linked = await this.kit.links.link({ orgId: installation.orgId, connector: installation.connector, externalUserId: caller.externalUserId }, maker.userId, installation.id, shownChatName(caller.externalUsername), this.kit.ctx.clock.now());
    // The maker deleted their account since making the token (with its memberships): the same
    // code as a maker who left the organization, in words that say what happened.
    if (linked === 'account_gone') throw new ForbiddenError(`The account that made this token has been deleted, so the token links nothing. Create a token with an account that is a member, at ${this.linkPage()}.`, 'not_a_member');
    if (linked === 'organization_gone') throw organizationGone();
    // Uninstalled between the call's check and the link: the link would outlive it.
    if (linked === 'installation_gone') throw this.kit.installationNotFound();
    // The maker may have left the organization since making the token.
    if (linked === 'not_a_member') throw new ForbiddenError(`The account that made this token is no longer a member of the organization, so the token links nothing. Create a token with an account that is a member, at ${this.linkPage()}.`, 'not_a_member');
    // Linking again replaces the link: say so when it was to another account, or the person
    // believes both accounts are linked.
    if (linked.replaced !== null) return { text: `Linked to the pairgate account ${this.shownName(maker.username)}, in place of ${this.shownName(linked.replaced)}.`, data: { linked: true, username: maker.username, replaced: linked.replaced } };
    return { text: `Linked to the pairgate account ${this.shownName(maker.username)}.`, data: { linked: true, username: maker.username } };
  }

  /** Removes the caller's link, if any. */
  async unlink(installation: Installation, caller: ChatCaller): Promise<CommandAnswer> {
    const removed = await this.kit.links.unlink({ orgId: installation.orgId, connector: installation.connector, externalUserId: caller.externalUserId });
    return { text: removed ? 'Unlinked from your pairgate account.' : 'You were not linked to a pairgate account.', data: { linked: false, unlinked: removed } };
  }

  /** Says which pairgate account the caller is linked to. */
  async status(installation: Installation, caller: ChatCaller): Promise<CommandAnswer> {
    const link = await this.kit.links.find({ orgId: installation.orgId, connector: installation.connector, externalUserId: caller.externalUserId });
    if (!link) return { text: `Not linked. Create a link token at ${this.kit.ctx.publicUrl()}${LINK_PAGE_PATH}, then run ${this.command('link <token>')}.`, data: { linked: false } };
    return { text: `Linked to the pairgate account ${this.shownName(link.username)} since ${new Date(link.linkedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC.`, data: { linked: true, username: link.username, linked_at: new Date(link.linkedAt).toISOString() } };
  }

  /** The list of commands, as typed in this chat. */
  help(): CommandAnswer {
    const lines = [
      `${this.command('link <token>')}: link your chat account to your pairgate account (make the token at ${this.kit.ctx.publicUrl()}${LINK_PAGE_PATH}; it works once, for ${this.lifetime()})`,
      `${this.command('unlink')}: remove the link`,
      `${this.command('status')}: say which pairgate account you are linked to`,
      `${this.command('help')}: this list`,
    ];
    return { text: lines.join('\n'), data: { commands: ['link', 'unlink', 'status', 'help'] } };
  }
}
