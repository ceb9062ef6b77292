import type { Static } from 'typebox';
import { ConflictError, ExpiredError, NotFoundError } from '../../core/errors.js';
import type { DoorContext } from '../door.js';
import type { ChatLinks } from './chat-links.js';
import type { Connector } from './connector.js';
import type { installConfigSchema } from './config.js';
import { Invitations } from './invitations.js';
import { isUsable, type InstallFacts, type Installation, type Installations } from './installations.js';
import type { LinkBudget } from './link-budget.js';
import type { LinkTokens } from './link-tokens.js';
import type { Organization, Organizations } from './organizations.js';

/**
 * What connectors share, built once at registration: the stores of organizations (and invitations
 * into them), installations, links and link tokens, the budgets, and the steps every connector goes through (load an
 * installation for a call, install).
 */
export class ChatKit {
  /** Invitations into the organizations, bounded by the door's configuration. */
  readonly invitations: Invitations;

  constructor(
    readonly ctx: DoorContext,
    readonly cfg: Static<typeof installConfigSchema>,
    readonly orgs: Organizations,
    readonly installations: Installations,
    readonly links: ChatLinks,
    readonly tokens: LinkTokens,
    readonly budget: LinkBudget,
  ) {
    this.invitations = new Invitations(ctx.stores.db, {
      ttlMs: cfg.PAIRGATE_INSTALL_INVITATION_TTL_SECONDS * 1000,
      perOrganization: cfg.PAIRGATE_INSTALL_MAX_PENDING_INVITATIONS_PER_ORGANIZATION,
      perAccount: cfg.PAIRGATE_INSTALL_MAX_PENDING_INVITATIONS_PER_ACCOUNT,
      declineMemoryMs: cfg.PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS * 1000,
      organizationsPerAccount: orgs.maxPerAccount,
    });
  }

  /**
   * 404 `installation_not_found`, said to whoever reads it in the chat (a user's command, an admin's
   * install): why an installation can be gone, and how to get a working one.
   */
  installationNotFound(): NotFoundError {
    return new NotFoundError(`pairgate has no installation with this id: it was never set up, or it was deleted (a newer setup was installed in its place, it expired before its install, or its organization was deleted). An admin of the organization can set up again at ${this.ctx.publicUrl()}/integrations and install the new setup.`, 'installation_not_found');
  }

  /**
   * The installed installation of `connector` in `org`, which a link token needs: a token for a
   * chat pairgate is not (or no longer) installed in could be spent nowhere, and would hold a place
   * among the live tokens for nothing. 409 `installation_not_installed` while a setup waits for its
   * install, 404 `installation_not_found` otherwise (never set up, or rotated, expired or replaced
   * since), each saying what an admin does first. The words are the English page's
   * (`install.error.<code>`): the chat is "your chat (<its page name>)", since a display name
   * ("Signed webhook") does not read mid-sentence, and how it is installed is left to what the
   * setup said, since each connector installs differently (a Mattermost command, a signed call to
   * the webhook's install URL).
   */
  async installedIn(org: { id: string; name: string }, connector: Pick<Connector, 'name' | 'pageNames'>): Promise<Installation> {
    const current = await this.installations.current(org.id, connector.name, this.ctx.clock.now());
    if (current?.state === 'installed') return current;
    const chat = `your chat (${connector.pageNames.en.name})`;
    const setUpAt = `${this.ctx.publicUrl()}/integrations`;
    if (current) {
      throw new ConflictError(`pairgate is set up for ${chat} in the organization ${org.name} but not installed in it yet, so a link token would link nothing. An admin of the organization finishes the install as the setup said (or sets up again at ${setUpAt}); then make the token again.`, 'installation_not_installed');
    }
    throw new NotFoundError(`pairgate is not installed in ${chat} for the organization ${org.name}, so a link token would link nothing. An admin of the organization sets it up at ${setUpAt} and installs it in the chat; then make the token again.`, 'installation_not_found');
  }

  /** Installation `id` of `connector`, any state; 404 `installation_not_found` when there is none. */
  async installation(connector: string, id: string): Promise<Installation> {
    const installation = await this.installations.find(connector, id);
    if (!installation) throw this.installationNotFound();
    return installation;
  }

  /**
   * Installation `id` of `connector` and its secret, unsealed (undefined when this server's key
   * cannot open it), for checking a call's signature; 404 `installation_not_found` when there is none.
   */
  async installationWithSecret(connector: string, id: string): Promise<{ installation: Installation; secret: string | undefined }> {
    const found = await this.installations.findWithSecret(connector, id);
    if (!found) throw this.installationNotFound();
    return found;
  }

  /**
   * Throws unless calls may use `installation` now: 410 `installation_rotated` (a newer setup
   * replaced it), 410 `installation_expired` (set up but not installed in time), 409
   * `installation_not_installed` (only the install callback may use a setup before it is installed;
   * said in `connector`'s words, `notInstalledYet`, since each backend installs differently).
   * Called after the signature is checked, so only the secret's holder learns the state.
   */
  /** What an uninstall of a replaced installation answers (`uninstall`), for both connectors. */
  static readonly REPLACED_UNINSTALL = 'This installation was replaced by a newer setup in pairgate: nothing was removed. Install the newer setup; your chat users stay linked.';

  assertUsable(installation: Installation, connector: Pick<Connector, 'notInstalledYet'>, forInstall: boolean): void {
    // Who reads these is the chat admin who ran an old or early command: say what to do next.
    if (installation.state === 'rotated') throw new ExpiredError('This installation was replaced by a newer setup in pairgate; its secret no longer works. Install the newer setup, with the link and secret pairgate showed for it, or set up again on pairgate\'s /integrations page.', 'installation_rotated');
    if (!isUsable(installation, this.ctx.clock.now())) throw new ExpiredError('This setup expired before it was installed. Run the setup again in pairgate.', 'installation_expired');
    if (!forInstall && installation.state !== 'installed') throw new ConflictError(connector.notInstalledYet, 'installation_not_installed');
  }

  /**
   * Forgets `installation` and the chat links made through it: its chat server uninstalled
   * pairgate. Its calls then get 404, and the organization makes no link token for that connector
   * (`installedIn`) until a new setup is installed, which starts with no links; a token made before
   * is spent only through an installed installation, so through none of this one. Returns the
   * organization, if it still exists, for the answer's words.
   *
   * An installation a newer setup replaced (`rotated`) is left as it is (`replaced`): its uninstall
   * is the usual step before installing that setup, which takes over the links made in the same
   * chat, and it is what anyone holding the old secret (the one a rotation was for, if it leaked)
   * could send. The sweep removes it, and its links, if the new setup is never installed.
   */
  async uninstall(installation: Installation): Promise<{ replaced: true } | { replaced: false; organization: Organization | undefined }> {
    if (installation.state === 'rotated') return { replaced: true };
    const removed = await this.installations.remove(installation.id);
    if (removed) this.ctx.logger.info({ org: installation.orgId, installation: installation.id, connector: installation.connector, linksRemoved: removed.linksRemoved }, 'chat installation uninstalled');
    return { replaced: false, organization: await this.orgs.find(installation.orgId) };
  }

  /** Links `installation` to the chat server that installed it; returns its organization. */
  async install(installation: Installation, facts: InstallFacts): Promise<{ installation: Installation; organization: Organization }> {
    const installed = await this.installations.markInstalled(installation.id, facts, this.ctx.clock.now());
    const organization = await this.orgs.find(installed.orgId);
    if (!organization) throw new NotFoundError('The organization of this installation no longer exists.', 'organization_not_found');
    return { installation: installed, organization };
  }
}
