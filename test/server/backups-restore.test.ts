import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { COPY_MARK } from '../../src/store/sqlite/restored-copy.js';
import { ensureBuilt, failingStart, startNode, type NodeProcess } from '../helpers/node-process.js';

/**
 * The restore of docs/backups.md done as written, on `pairgate serve` processes: a copy made by the
 * server, the server stopped (here killed, as a crash leaves its WAL file), the copy put back, and
 * what the copy held is what the server serves. A restore that leaves the old WAL file beside the
 * copy is refused before SQLite would apply the old changes to it.
 */

const ADMIN_TOKEN = 'restore-test-admin-token-of-at-least-32-chars';

async function putClient(node: NodeProcess, id: string): Promise<void> {
  const response = await fetch(`${node.url}/api/v1/device/clients/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: id }),
  });
  expect(response.status).toBeLessThan(300);
}

async function clientIds(node: NodeProcess): Promise<string[]> {
  const response = await fetch(`${node.url}/api/v1/device/clients`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const { clients } = (await response.json()) as { clients: { client_id: string }[] };
  return clients.map((client) => client.client_id).sort();
}

/** The newest copy in `dir` once there are `count`, each written whole. */
async function newestCopy(dir: string, count: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const copies = existsSync(dir) ? readdirSync(dir).filter((name) => /^pairgate-.*\.db$/.test(name)).sort() : [];
    if (copies.length >= count) return join(dir, copies.at(-1)!);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no copy in ${dir}`);
}

describe('restoring a copy of the embedded database (docs/backups.md, Restore)', () => {
  // The node running when an expectation fails is stopped too, not left serving after the run.
  let node: NodeProcess | undefined;
  afterEach(async () => {
    await node?.kill();
  });

  it('serves what the copy held; refuses, changing nothing, when the old WAL file is left beside it', async () => {
    ensureBuilt();
    const root = mkdtempSync(join(tmpdir(), 'pairgate-restore-'));
    const dataDir = join(root, 'data');
    const backupDir = join(root, 'copies');
    const env = { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_BACKUP_DIR: backupDir, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN };

    // A first start, a client, a second start: its start-up copy holds the client.
    node = await startNode(env);
    await putClient(node, 'in-the-copy');
    await node.stop();
    node = await startNode(env);
    const copy = await newestCopy(backupDir, 2);
    await putClient(node, 'after-the-copy');
    // Killed, as a crash: the last changes are in pairgate.db-wal only.
    await node.kill();
    const live = join(dataDir, 'pairgate.db');
    expect(statSync(`${live}-wal`).size).toBeGreaterThan(0);

    // A copy is one file that says it is a copy.
    const inspected = new BetterSqlite3(copy, { readonly: true });
    expect(inspected.pragma('user_version', { simple: true })).toBe(COPY_MARK);
    expect(inspected.pragma('journal_mode', { simple: true })).toBe('delete');
    inspected.close();

    // Half a restore: the copy over pairgate.db, the old WAL file left beside it.
    copyFileSync(copy, live);
    const refused = await failingStart(env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`pairgate.db in ${dataDir} is a copy from a backup, and the pairgate.db-wal beside it belongs to the database it replaced`);
    expect(refused.stderr).toContain('[restore_unfinished]');
    expect(statSync(`${live}-wal`).size).toBeGreaterThan(0);

    // The restore as written: all three files aside, the copy put back.
    const aside = join(root, 'aside');
    mkdirSync(aside);
    for (const name of readdirSync(dataDir).filter((file) => file.startsWith('pairgate.db'))) renameSync(join(dataDir, name), join(aside, name));
    copyFileSync(copy, live);
    node = await startNode(env);
    expect(await clientIds(node)).toEqual(['in-the-copy']);
    // A crash of the restored server leaves a WAL file of its own: the next start is not refused.
    await putClient(node, 'after-the-restore');
    await node.kill();
    node = await startNode(env);
    expect(await clientIds(node)).toEqual(['after-the-restore', 'in-the-copy']);
    await node.stop();
  });
});
