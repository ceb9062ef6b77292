import { randomBytes } from 'node:crypto';
import type { DeleteQueryNode, KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, SelectQueryNode, TableNode, UnknownRow } from 'kysely';
import { expect, it } from 'vitest';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { Installations, ROTATED_SWEEP_BATCH } from '../../../src/doors/install/installations.js';
import { installMigrations } from '../../../src/doors/install/migrations.js';
import { SecretBox } from '../../../src/server/secret-box.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { SWEEP_BATCH_ROWS } from '../../../src/store/sql/batched-delete.js';
import { describeOnEachStore, sqlStoreSetups } from '../../helpers/sql-store-setups.js';

const migrations = { ...coreMigrations, ...accountsMigrations, ...installMigrations };
const setups = await sqlStoreSetups(migrations);

/** The table a root statement names first (its FROM), if any. */
function tableOf(node: OperationNode | undefined): string | undefined {
  const from = node?.kind === 'DeleteQueryNode' ? (node as DeleteQueryNode).from : node?.kind === 'SelectQueryNode' ? (node as SelectQueryNode).from : undefined;
  const first = from?.froms[0];
  return first?.kind === 'TableNode' ? (first as TableNode).table.identifier.name : undefined;
}

/**
 * Records, of the statements run through it, how many rows each DELETE of `chat_links` deleted,
 * and how many rows each SELECT of `chat_installations` with a LIMIT (a batch) read.
 */
class SweepStatements implements KyselyPlugin {
  readonly linksDeleted: number[] = [];
  readonly installationBatches: number[] = [];
  private readonly kinds = new WeakMap<object, 'links' | 'batch'>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { node } = args;
    if (node.kind === 'DeleteQueryNode' && tableOf(node) === 'chat_links') this.kinds.set(args.queryId, 'links');
    if (node.kind === 'SelectQueryNode' && node.limit && tableOf(node) === 'chat_installations') this.kinds.set(args.queryId, 'batch');
    return node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const kind = this.kinds.get(args.queryId);
    if (kind === 'links') this.linksDeleted.push(Number(args.result.numAffectedRows));
    if (kind === 'batch') this.installationBatches.push(args.result.rows.length);
    return args.result;
  }
}

/**
 * The install door's sweep read every rotated installation due in one unbounded SELECT and removed
 * them one after another with the event loop never free, and deleted the links naming no
 * installation in one unbounded DELETE. Now both go a batch at a time, with the loop free between.
 */
describeOnEachStore(setups, `install sweep of a backlog`, (stores) => {
  it('removes every rotated installation due and every orphan link in batches, yielding between, and nothing live', async () => {
    const now = 1_000_000_000;
    const keepRotatedMs = 3_600_000;
    const rotatedDue = 2 * ROTATED_SWEEP_BATCH + 1;
    const orphans = 2 * SWEEP_BATCH_ROWS + 1;
    const db = stores().db;
    await db.insertInto('users').values({ id: 'u', username: 'swept', email: 'swept@example.test', password_hash: 'x', created_at: 0 }).execute();
    await db.insertInto('organizations').values({ id: 'org', name: 'Swept', created_at: 0 }).execute();
    const installation = (id: string, state: string, fields: { expires_at?: number; rotated_at?: number; installed_at?: number }) => ({
      id, org_id: 'org', connector: 'webhook', state, secret_sealed: 'sealed', created_at: 0,
      expires_at: fields.expires_at ?? null, installed_at: fields.installed_at ?? null, site_url: null, bot_user_id: null, bot_token_sealed: null, rotated_at: fields.rotated_at ?? null,
    });
    const link = (externalUserId: string, installationId: string) => ({
      org_id: 'org', connector: 'webhook', external_user_id: externalUserId, user_id: 'u', installation_id: installationId, external_username: null, linked_at: 0,
    });
    const installations = [
      ...Array.from({ length: rotatedDue }, (_, i) => installation(`rotated-${i}`, 'rotated', { rotated_at: now - keepRotatedMs - i })),
      installation('rotated-recently', 'rotated', { rotated_at: now - keepRotatedMs + 1 }),
      installation('installed', 'installed', { installed_at: 0 }),
      installation('setup-expired', 'pending', { expires_at: now }),
      installation('setup-live', 'pending', { expires_at: now + 1 }),
    ];
    const links = [
      ...Array.from({ length: rotatedDue }, (_, i) => link(`through-rotated-${i}`, `rotated-${i}`)),
      ...Array.from({ length: orphans }, (_, i) => link(`orphan-${i}`, 'gone-installation')),
      link('through-recent', 'rotated-recently'),
      link('through-installed', 'installed'),
    ];
    for (let i = 0; i < installations.length; i += 500) await db.insertInto('chat_installations').values(installations.slice(i, i + 500)).execute();
    for (let i = 0; i < links.length; i += 500) await db.insertInto('chat_links').values(links.slice(i, i + 500)).execute();

    const statements = new SweepStatements();
    let swept = false;
    let ranDuring = false;
    // Queued before the sweep starts: it runs during the sweep only if the sweep lets the loop turn.
    setImmediate(() => {
      ranDuring = !swept;
    });
    const result = await new Installations(db.withPlugin(statements), new SecretBox(randomBytes(32))).sweep(now, keepRotatedMs).finally(() => {
      swept = true;
    });

    expect(result).toEqual({ installations: rotatedDue + 1, links: rotatedDue + orphans });
    expect(ranDuring).toBe(true);
    // The rotated ones read 100, 100, then 1: the short batch ends that part.
    expect(statements.installationBatches).toEqual([ROTATED_SWEEP_BATCH, ROTATED_SWEEP_BATCH, 1]);
    // Each rotated one's link with it (one a statement), then the orphans 1,000, 1,000 and 1.
    expect(statements.linksDeleted.filter((deleted) => deleted !== 1)).toEqual([SWEEP_BATCH_ROWS, SWEEP_BATCH_ROWS]);
    expect(statements.linksDeleted.length).toBe(rotatedDue + 3);
    expect((await db.selectFrom('chat_installations').select('id').orderBy('id').execute()).map((row) => row.id)).toEqual(['installed', 'rotated-recently', 'setup-live']);
    expect((await db.selectFrom('chat_links').select('external_user_id').orderBy('external_user_id').execute()).map((row) => row.external_user_id)).toEqual(['through-installed', 'through-recent']);
  }, 60_000);
});
