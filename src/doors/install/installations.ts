import { sql } from 'kysely';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { randomId, randomToken } from '../../core/ids.js';
import type { SecretBox } from '../../server/secret-box.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { supportsRowLocks } from '../../store/sql/advisory-lock.js';
import { deleteInBatches, inBatches, skippingLocked } from '../../store/sql/batched-delete.js';
import type { InstallationRow } from './install-rows.js';
import { assertAllowedIn, lockOrganization } from './organizations.js';
import './install-rows.js';
import { changedNothing } from './unchanged-refusals.js';

/** Installation ids (randomId: 128 bits, base64url); anything else is not looked up. */
export const INSTALLATION_ID_PATTERN = '^[A-Za-z0-9_-]{22}$';
const INSTALLATION_ID = new RegExp(INSTALLATION_ID_PATTERN);

/**
 * Rotated installations the sweep reads at once. Each is removed in a transaction of its own, with
 * its links (`Installations.remove`: four statements or so), so a batch is a tenth of the rows a
 * batch of one DELETE takes (`SWEEP_BATCH_ROWS`), and the event loop turns between batches.
 */
export const ROTATED_SWEEP_BATCH = 100;

/** Where an installation is in its life. */
export type InstallationState = 'pending' | 'installed' | 'rotated';

/** An installation, secrets still sealed. */
export interface Installation {
  id: string;
  orgId: string;
  connector: string;
  state: InstallationState;
  createdAt: number;
  expiresAt: number | null;
  installedAt: number | null;
  siteUrl: string | null;
  botUserId: string | null;
  hasBotToken: boolean;
  /** When a newer setup replaced it (rotated ones only). */
  rotatedAt: number | null;
}

/** What the chat server tells at install time. */
export interface InstallFacts {
  siteUrl: string;
  botUserId: string | null;
  botToken: string | null;
}

/** A fresh setup: the installation and its secret in clear (the only time it exists unsealed outside a call check). */
export interface CreatedSetup {
  installation: Installation;
  secret: string;
}

function toInstallation(row: InstallationRow): Installation {
  return {
    id: row.id,
    orgId: row.org_id,
    connector: row.connector,
    state: row.state as InstallationState,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    installedAt: row.installed_at === null ? null : Number(row.installed_at),
    siteUrl: row.site_url,
    botUserId: row.bot_user_id,
    hasBotToken: row.bot_token_sealed !== null,
    rotatedAt: row.rotated_at === null ? null : Number(row.rotated_at),
  };
}

/** Context the secret of installation `id` is sealed under (a sealed value opens only in its own row and column). */
const secretContext = (id: string): string => `chat_installations.secret_sealed:${id}`;
const botTokenContext = (id: string): string => `chat_installations.bot_token_sealed:${id}`;

/**
 * Chat installations (durable). A setup makes a new installation with a fresh 256-bit secret and
 * marks the organization's previous ones of that connector `rotated`, so their secret stops working
 * at once. The secret is kept sealed under the server key, not hashed: checking an HMAC signature
 * needs the key itself.
 *
 * Rotated installations are kept only while they help: their calls answer 410
 * `installation_rotated` (not a bare 404) while the admin installs the new setup. They are deleted,
 * sealed secret and all, as soon as a newer installation of the same organization and connector is
 * installed (the replacement works; nothing should call them), and otherwise by the sweep, once a
 * setup TTL has passed since their rotation (by then the setup that replaced them was installed or
 * has expired), the chat links made through them with them. A never-installed one goes at the
 * next setup already (`deleteRetiredSetups`): only the setup a new one replaces is kept, so
 * repeated setups leave a bounded number of rows. Their bot token is dropped at rotation: a
 * rotated installation never calls its chat server.
 */
export class Installations {
  constructor(private readonly db: DurableDb, private readonly box: SecretBox) {}

  /**
   * Creates (or rotates to) a new installation of `connector` for `orgId`, expiring un-installed
   * after `ttlMs`, for `byUserId`, who must hold `integrations:write` (checked again under the
   * organization's lock: an admin made a member or removed while this waited neither rotates the
   * working installation nor gets a secret).
   */
  async setup(orgId: string, connector: string, ttlMs: number, now: number, byUserId: string): Promise<CreatedSetup> {
    const id = randomId();
    const secret = randomToken();
    const row: InstallationRow = {
      id,
      org_id: orgId,
      connector,
      state: 'pending',
      secret_sealed: this.box.seal(secret, secretContext(id)),
      created_at: now,
      expires_at: now + ttlMs,
      installed_at: null,
      site_url: null,
      bot_user_id: null,
      bot_token_sealed: null,
      rotated_at: null,
    };
    await this.db.transaction().execute(async (trx) => {
      // Not for an organization deleted meanwhile (its deletion would miss this row).
      if (!(await lockOrganization(trx, orgId))) throw new NotFoundError('This organization no longer exists.', 'organization_not_found');
      await assertAllowedIn(trx, orgId, byUserId, 'integrations:write');
      await deleteRetiredSetups(trx, orgId, connector);
      await trx.updateTable('chat_installations').set({ state: 'rotated', rotated_at: now, bot_token_sealed: null }).where('org_id', '=', orgId).where('connector', '=', connector).where('state', '!=', 'rotated').execute();
      await trx.insertInto('chat_installations').values(row).execute();
    });
    return { installation: toInstallation(row), secret };
  }

  /** The installation `id` of `connector` (any state). */
  async find(connector: string, id: string): Promise<Installation | undefined> {
    if (!INSTALLATION_ID.test(id)) return undefined;
    const row = await this.db.selectFrom('chat_installations').selectAll().where('id', '=', id).where('connector', '=', connector).executeTakeFirst();
    return row ? toInstallation(row) : undefined;
  }

  /**
   * The installation `id` of `connector` with its secret unsealed (undefined if it cannot be opened:
   * another server key), read in one go: read apart, the row could be deleted in between (its
   * organization deleted, or a newer installation installed) and the secret look unopenable.
   */
  async findWithSecret(connector: string, id: string): Promise<{ installation: Installation; secret: string | undefined } | undefined> {
    if (!INSTALLATION_ID.test(id)) return undefined;
    const row = await this.db.selectFrom('chat_installations').selectAll().where('id', '=', id).where('connector', '=', connector).executeTakeFirst();
    return row ? { installation: toInstallation(row), secret: this.box.open(row.secret_sealed, secretContext(id)) } : undefined;
  }

  /** The bot token of installation `id`, unsealed (for calls back to the chat server). */
  async botTokenOf(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('chat_installations').select('bot_token_sealed').where('id', '=', id).executeTakeFirst();
    return row?.bot_token_sealed ? this.box.open(row.bot_token_sealed, botTokenContext(id)) : undefined;
  }

  /** The live installation of `connector` for `orgId` (pending and unexpired, or installed). */
  async current(orgId: string, connector: string, now: number): Promise<Installation | undefined> {
    const rows = await this.db.selectFrom('chat_installations').selectAll().where('org_id', '=', orgId).where('connector', '=', connector).where('state', '!=', 'rotated').execute();
    return rows.map(toInstallation).find((inst) => isUsable(inst, now));
  }

  /**
   * Links installation `id` to the chat server that called its install callback: stores the site,
   * the bot user and the bot token (sealed). A second install from the same site updates them; one
   * from another site is refused (a setup belongs to one chat server), and so is a rotated or
   * expired setup (the call checks say which before this; here it is the race's last word). The
   * installations this one superseded (rotated, same organization and connector) are deleted in
   * the same transaction.
   *
   * The organization is locked first, as a link, an uninstall and a setup lock it
   * (`lockOrganization`): a link that checked its installation under that lock commits before the
   * links are taken over here, so none is left naming an installation deleted below; and an
   * uninstall of this installation running at once takes the same locks in the same order (this
   * one held the installation's row and waited for the links the uninstall held, which waited for
   * that row: PostgreSQL broke the deadlock, one of them answering 500).
   */
  async markInstalled(id: string, facts: InstallFacts, now: number): Promise<Installation> {
    return this.db.transaction().execute(async (trx) => {
      // An installation never changes organization, so the one read here is the one to lock.
      const owner = await trx.selectFrom('chat_installations').select('org_id').where('id', '=', id).executeTakeFirst();
      // Deleted meanwhile, with its organization or as a superseded one: nothing changed
      // (`changedNothing`, as the refusals below).
      if (!owner || !(await lockOrganization(trx, owner.org_id))) throw changedNothing(new NotFoundError('No installation has this id.', 'installation_not_found'));
      // One conditional UPDATE decides, so neither a rotation nor another site's install racing this
      // one can be overwritten: an installed row moves only for its own site, a setup only while live.
      const result = await trx
        .updateTable('chat_installations')
        .set({
          state: 'installed',
          installed_at: now,
          expires_at: null,
          site_url: facts.siteUrl,
          bot_user_id: facts.botUserId,
          bot_token_sealed: facts.botToken ? this.box.seal(facts.botToken, botTokenContext(id)) : null,
        })
        .where('id', '=', id)
        .where((eb) => eb.or([
          eb.and([eb('state', '=', 'installed'), eb('site_url', '=', facts.siteUrl)]),
          eb.and([eb('state', '=', 'pending'), eb('expires_at', '>', now)]),
        ]))
        .executeTakeFirst();
      const row = await trx.selectFrom('chat_installations').selectAll().where('id', '=', id).executeTakeFirst();
      // These refusals changed nothing (the UPDATE matched no row), so a signed call refused here
      // may be delivered again and told the same (`changedNothing`).
      // Deleted meanwhile, with its organization or as a superseded one.
      if (!row) throw changedNothing(new NotFoundError('No installation has this id.', 'installation_not_found'));
      if (Number(result.numUpdatedRows) === 0) {
        if (row.state === 'installed') throw changedNothing(new ConflictError('This installation is linked to another chat server. Run a new setup for this one.', 'installation_site_mismatch'));
        throw changedNothing(new ConflictError('This setup was rotated or has expired. Run the setup again in pairgate.', 'installation_not_usable'));
      }
      await this.takeOverLinks(trx, row.org_id, row.connector, id, facts.siteUrl);
      // Only a setup rotates the others, so every rotated one of this organization and connector is older.
      await trx.deleteFrom('chat_installations').where('org_id', '=', row.org_id).where('connector', '=', row.connector).where('state', '=', 'rotated').execute();
      return toInstallation(row);
    });
  }

  /**
   * The links of this organization and connector made through the installations installation `id`
   * replaced now hold through it when they were made in the same chat (`siteUrl`): the same chat
   * users keep their link across a new setup, and uninstalling this one removes them too
   * (`remove`). The others go: a chat user id means nothing in another chat (a webhook's "42" is
   * someone else there), so a new install from another site starts with no links rather than
   * lending that chat's users the accounts of this one's.
   */
  private async takeOverLinks(trx: DurableDb, orgId: string, connector: string, id: string, siteUrl: string): Promise<void> {
    const sameChat = trx.selectFrom('chat_installations').select('id').where('org_id', '=', orgId).where('connector', '=', connector).where('site_url', '=', siteUrl);
    await trx.updateTable('chat_links').set({ installation_id: id })
      .where('org_id', '=', orgId).where('connector', '=', connector).where('installation_id', '!=', id).where('installation_id', 'in', sameChat)
      .execute();
    await trx.deleteFrom('chat_links').where('org_id', '=', orgId).where('connector', '=', connector).where('installation_id', '!=', id).execute();
  }

  /**
   * Deletes installation `id` (sealed secret and bot token with it) and the chat links made through
   * it, in one transaction: its chat server uninstalled pairgate, so its chat users are linked to
   * nothing any more, and a new setup installed later starts with no links rather than trusting
   * ids from a chat pairgate was removed from. Its calls then answer 404 `installation_not_found`,
   * and the organization makes no link token for that connector until a new setup is installed.
   *
   * The links of an installed one are all its organization's links of its connector (links are
   * made only through an installed installation, there is one at a time, and an install takes over
   * the links of the ones it replaced, `markInstalled`), which also covers links older than that
   * takeover; those of a rotated or pending one are those naming it. The organization is locked
   * first, as a link is (`ChatLinks.link`), so no link made meanwhile outlives the removal.
   * Undefined when there was no such installation, else how many links went with it.
   */
  async remove(id: string): Promise<{ linksRemoved: number } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('chat_installations').select(['org_id', 'connector', 'state']).where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      // A deleted organization took its installations with it: nothing left to lock or remove.
      if (!(await lockOrganization(trx, row.org_id))) return undefined;
      let links = trx.deleteFrom('chat_links').where('org_id', '=', row.org_id).where('connector', '=', row.connector);
      if (row.state !== 'installed') links = links.where('installation_id', '=', id);
      const removed = await links.executeTakeFirst();
      const deleted = await trx.deleteFrom('chat_installations').where('id', '=', id).executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0 ? { linksRemoved: Number(removed.numDeletedRows) } : undefined;
    });
  }

  /**
   * Deletes setups that expired without being installed, and installations rotated `keepRotatedMs`
   * ago or longer (until then their calls say why they fail: 410 `installation_rotated`), each with
   * the chat links made through it, in one transaction under its organization's lock (`remove`):
   * no replacement of it was installed to take them over, so they link through nothing. Then the
   * links naming no installation at all, which sweeps before these went with them left behind.
   * Each a batch at a time, with the event loop free between batches: a backlog in one statement
   * or one loop held SQLite's event loop, or outlasted PostgreSQL's query timeout.
   * Returns how many installations and links went.
   */
  async sweep(now: number, keepRotatedMs: number): Promise<{ installations: number; links: number }> {
    // A setup is never installed, so no link names it: it goes alone (a batch at a time).
    const setups = await deleteInBatches(this.db, {
      table: 'chat_installations',
      key: 'id',
      where: (eb) => eb.and([eb('state', '=', 'pending'), eb('expires_at', '<=', now)]),
    });
    const rotated = await this.removeRotated(now - keepRotatedMs);
    const orphans = await this.deleteOrphanLinks();
    return { installations: setups + rotated.installations, links: rotated.links + orphans };
  }

  /**
   * Removes the installations rotated at `rotatedBy` or before, with their links (`remove`, a
   * transaction each), `ROTATED_SWEEP_BATCH` read at a time. A rotated row never changes state
   * again: it is deleted here, or by the install of its replacement, so the next batch is read by
   * the same query. A batch none of which could be removed would be read again for ever: the sweep
   * stops there and the next one tries again.
   */
  private async removeRotated(rotatedBy: number): Promise<{ installations: number; links: number }> {
    let installations = 0;
    let links = 0;
    await inBatches(async (limit) => {
      const batch = await this.db.selectFrom('chat_installations').select('id')
        .where('state', '=', 'rotated').where('rotated_at', '<=', rotatedBy)
        .limit(limit)
        .execute();
      let removedHere = 0;
      for (const { id } of batch) {
        const removed = await this.remove(id);
        if (!removed) continue;
        removedHere++;
        links += removed.linksRemoved;
      }
      installations += removedHere;
      return removedHere === 0 ? 0 : batch.length;
    }, ROTATED_SWEEP_BATCH);
    return { installations, links };
  }

  /**
   * Deletes the links naming no installation, a batch at a time (`inBatches`), and checks each row
   * again on the DELETE itself, so a link a relink pointed at a live installation meanwhile stays.
   * Returns how many went.
   *
   * `chat_links` has a primary key of three columns, which `= ANY(ARRAY(...))` cannot name. On
   * PostgreSQL the batch is named by `ctid` instead, `ctid = ANY(ARRAY(batch))` (`skippingLocked`):
   * a Tid Scan of exactly the rows the batch locked `FOR UPDATE SKIP LOCKED`, read once before the
   * DELETE, so the sweep never waits for a link another transaction holds. An organization's
   * deletion takes its links in key order and an account's deletion cascades over its own in the
   * order they lie in the table: as `(org_id, connector, external_user_id) IN (batch)`, which waits
   * for each row in the order of its own plan, the sweep and either of them each waited for a row
   * the other held (40P01, the deletion answered 503). A row's `ctid` changes only when the row is
   * written, and the batch's rows are locked from the moment they are read until the statement
   * ends; a row written by another transaction between the read and the lock is followed by
   * PostgreSQL to its new version, and a `ctid` that no longer names it deletes nothing. A row
   * skipped is being written or deleted by its holder; a link still orphaned goes at the next sweep.
   * SQLite has one writer at a time and no FOR UPDATE: there the row values of the key, `IN (batch)`.
   */
  private async deleteOrphanLinks(): Promise<number> {
    const locks = supportsRowLocks(this.db);
    return inBatches(async (limit) => {
      const orphans = this.db.selectFrom('chat_links as orphan')
        .where(({ not, exists, selectFrom }) => not(exists(
          selectFrom('chat_installations').select('chat_installations.id').whereRef('chat_installations.id', '=', 'orphan.installation_id'),
        )))
        .limit(limit);
      const result = await this.db.deleteFrom('chat_links')
        .where((eb) => locks
          ? eb(sql<string>`chat_links.ctid`, '=', skippingLocked(orphans.select(sql<string>`orphan.ctid`.as('ctid'))))
          : eb(eb.refTuple('org_id', 'connector', 'external_user_id'), 'in', orphans.select(['orphan.org_id', 'orphan.connector', 'orphan.external_user_id']).$asTuple('org_id', 'connector', 'external_user_id')))
        .where(({ not, exists, selectFrom }) => not(exists(
          selectFrom('chat_installations').select('chat_installations.id').whereRef('chat_installations.id', '=', 'chat_links.installation_id'),
        )))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}

/**
 * Deletes, in a setup's transaction (after `lockOrganization`), the organization's setups of
 * `connector` that an earlier setup already replaced and that were never installed: a setup
 * repeated without end kept one row (and sealed secret) per request for a setup TTL. None of them
 * can be installed or called any more, and a never-installed one holds no link and no link token
 * (both need an installed installation); links are checked all the same, since the sweep deletes
 * a rotated row with its links and this must never drop one. The setup about to be replaced stays,
 * so a chat server still installing its manifest is told 410 `installation_rotated` (install the
 * newer setup) rather than 404; so does an installed one replaced since, whose links and site the
 * next install takes over (`markInstalled`). What is left: at most that installed one, the one
 * being replaced, and the new one. Under the organization's lock no install, link or uninstall of
 * these rows runs meanwhile.
 */
async function deleteRetiredSetups(trx: DurableDb, orgId: string, connector: string): Promise<void> {
  await trx.deleteFrom('chat_installations')
    .where('org_id', '=', orgId).where('connector', '=', connector).where('state', '=', 'rotated').where('installed_at', 'is', null)
    .where(({ not, exists, selectFrom }) => not(exists(
      selectFrom('chat_links').select('chat_links.installation_id')
        .where('chat_links.org_id', '=', orgId).where('chat_links.connector', '=', connector)
        .whereRef('chat_links.installation_id', '=', 'chat_installations.id'),
    )))
    .execute();
}

/** Whether installation `id` still exists, read in `trx` (a link checks it under its organization's lock). */
export async function installationExists(trx: DurableDb, id: string): Promise<boolean> {
  return (await trx.selectFrom('chat_installations').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** Whether calls may use `installation` at `now`: not rotated, and installed or an unexpired setup. */
export function isUsable(installation: Installation, now: number): boolean {
  if (installation.state === 'installed') return true;
  return installation.state === 'pending' && installation.expiresAt !== null && installation.expiresAt > now;
}
