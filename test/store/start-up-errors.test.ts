import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/core/ids.js';
import { createTestDatabase, PG_ADMIN_URL, postgresMissing } from '../helpers/services.js';
import { CLI, ensureBuilt, failingStart, startNode } from '../helpers/node-process.js';
import { missingProgram } from '../helpers/system.js';
import { freePort } from '../helpers/ports.js';

/**
 * What an operator reads when `pairgate serve` cannot use its stores at start-up: a refusal (wrong
 * credentials, a database or a right missing, a Redis database number out of range, a data folder
 * it may not write, a full disk) names the setting and what to do, exits 2 (a setting to change)
 * and never shows a password; a database a newer version migrated is refused, one with fewer doors
 * is served. Redis is a throwaway redis-server with a password (never the shared one).
 */

const pgSkip = await postgresMissing();
const redisSkip = missingProgram('redis-server', 'Redis start-up error tests');
const isRoot = process.getuid?.() === 0;
const SECRET = 'hunter2secret';

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startRedis(port: number, password: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await answers(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

/**
 * `pairgate serve` on `dataDir`, as the user `uid` when given, run through `prefix` (a mount
 * namespace, say) when given; resolves with its exit code and standard error.
 */
async function serveOn(dataDir: string, args: string[] = [], uid?: number, prefix: string[] = []): Promise<{ code: number | null; stderr: string; started: boolean }> {
  const [command, ...rest] = [...prefix, 'node', CLI, 'serve', '--port', '0', '--data-dir', dataDir, ...args];
  const child = spawn(command!, rest, {
    env: { ...process.env, PAIRGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  let stderr = '';
  let started = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // A server that starts prints its URL: that is an answer too (it is stopped).
  const outcome = new Promise<number | null>((resolve) => {
    child.stdout!.once('data', (chunk: Buffer) => {
      started = chunk.toString().startsWith('pairgate listening on ');
      child.kill('SIGTERM');
    });
    child.once('exit', (code) => resolve(code));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await outcome;
  clearTimeout(timer);
  return { code, stderr, started };
}

describe('pairgate serve: stores it cannot use at start-up', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  describe.skipIf(Boolean(pgSkip))(`PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
    it('an unknown user: names PAIRGATE_DATABASE_URL and what to do, exit 2, no password', async () => {
      ensureBuilt();
      const url = new URL(PG_ADMIN_URL);
      url.username = `nobody_${randomId(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
      url.password = SECRET;
      const { code, stderr } = await failingStart({ PAIRGATE_DATABASE_URL: url.toString() });
      expect(code).toBe(2);
      expect(stderr).toContain(`PAIRGATE_DATABASE_URL: PostgreSQL at postgres://${url.username}:***@`);
      expect(stderr).toContain('put a user name and password it accepts in PAIRGATE_DATABASE_URL [config_invalid]');
      expect(stderr).not.toContain(SECRET);
      // pg also takes the password from the query string: it was shown as given.
      url.password = '';
      url.search = `?password=${SECRET}`;
      const inQuery = await failingStart({ PAIRGATE_DATABASE_URL: url.toString() });
      expect(inQuery.stderr).toContain('?password=***');
      expect(inQuery.stderr).not.toContain(SECRET);
    });

    it('TLS asked of a server without it: says which part of the URL to change, not "is PostgreSQL running there?"', async () => {
      ensureBuilt();
      const url = new URL(PG_ADMIN_URL);
      url.search = '?sslmode=require';
      const { code, stderr } = await failingStart({ PAIRGATE_DATABASE_URL: url.toString() });
      expect(code).toBe(2);
      expect(stderr).toContain('refused: The server does not support SSL connections; turn TLS on in the server, or take sslmode=require (or ssl=true) out of PAIRGATE_DATABASE_URL [config_invalid]');
    });

    it('a database that does not exist: says how to create it', async () => {
      ensureBuilt();
      const url = new URL(PG_ADMIN_URL);
      url.pathname = '/pairgate_missing_database';
      const { code, stderr } = await failingStart({ PAIRGATE_DATABASE_URL: url.toString() });
      expect(code).toBe(2);
      expect(stderr).toContain('database "pairgate_missing_database" does not exist');
      expect(stderr).toContain(`create the database (createdb -O ${url.username} pairgate_missing_database) or name one that exists in PAIRGATE_DATABASE_URL`);
    });

    it('a database another application uses, with a table of the name pairgate makes: exit 2 with what to do (a restart mends nothing), its table left as it was', async () => {
      ensureBuilt();
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const other = new pg.Client({ connectionString: database.url });
      await other.connect();
      try {
        await other.query('CREATE TABLE grants (order_id integer PRIMARY KEY, amount integer)');
        await other.query('INSERT INTO grants VALUES (1, 100)');
        const { code, stderr } = await failingStart({ PAIRGATE_DATABASE_URL: database.url });
        expect(code).toBe(2);
        expect(stderr).toContain('relation "grants" already exists');
        expect(stderr).toContain('give pairgate a database of its own');
        expect(stderr).toContain('[config_invalid]');
        expect((await other.query('SELECT order_id, amount FROM grants')).rows).toEqual([{ order_id: 1, amount: 100 }]);
        // Nothing of pairgate's left behind either: its migrations ran in one transaction.
        const made = await other.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'pairgate%'");
        expect(made.rows.map((row: { table_name: string }) => row.table_name).filter((name) => name !== 'pairgate_migrations' && name !== 'pairgate_migrations_lock')).toEqual([]);
      } finally {
        await other.end();
      }
    });

    it('a user that may not create tables: says which right to grant, not "database migration  failed"', async () => {
      ensureBuilt();
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const role = `pairgate_ro_${randomId(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${SECRET}'`);
        await admin.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
      } finally {
        await admin.end();
      }
      cleanups.push(async () => {
        const client = new pg.Client({ connectionString: PG_ADMIN_URL });
        await client.connect();
        await client.query(`DROP ROLE IF EXISTS ${role}`).finally(() => client.end());
      });
      const url = new URL(database.url);
      url.username = role;
      url.password = SECRET;
      const { code, stderr } = await failingStart({ PAIRGATE_DATABASE_URL: url.toString() });
      expect(code).toBe(2);
      expect(stderr).toContain('permission denied for schema public');
      expect(stderr).toContain(`GRANT CREATE ON SCHEMA public TO ${role}`);
      expect(stderr).not.toContain(SECRET);
    });
  });

  describe.skipIf(Boolean(redisSkip))(`Redis with a password${redisSkip ? ` (skipped: ${redisSkip})` : ''}`, () => {
    let port = 0;
    const ready = (async () => {
      if (redisSkip) return;
      port = await freePort();
      const redis = await startRedis(port, SECRET);
      cleanups.push(async () => {
        const exited = new Promise((resolve) => redis.once('exit', resolve));
        redis.kill('SIGKILL');
        await exited;
      });
    })();

    it('a wrong password, or none: names PAIRGATE_REDIS_URL, exit 2, no password', async () => {
      ensureBuilt();
      await ready;
      const wrong = await failingStart({ PAIRGATE_REDIS_URL: `redis://:wrong-${SECRET}@127.0.0.1:${port}/0` });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain(`PAIRGATE_REDIS_URL: Redis at redis://:***@127.0.0.1:${port}/0 refused: WRONGPASS`);
      expect(wrong.stderr).toContain('put a user name and password it accepts in PAIRGATE_REDIS_URL [config_invalid]');
      expect(wrong.stderr).not.toContain(SECRET);
      const none = await failingStart({ PAIRGATE_REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('refused: NOAUTH');
    });

    it('a database number the server does not have is refused, instead of writing in database 0', async () => {
      ensureBuilt();
      await ready;
      const { code, stderr } = await failingStart({ PAIRGATE_REDIS_URL: `redis://:${SECRET}@127.0.0.1:${port}/99`, PAIRGATE_REDIS_PREFIX: 'db-test:' });
      expect(code).toBe(2);
      expect(stderr).toContain('refused: ERR DB index is out of range; a Redis server has databases 0 to 15');
      const redis = new Redis(`redis://:${SECRET}@127.0.0.1:${port}/0`);
      try {
        expect(await redis.keys('db-test:*')).toEqual([]);
      } finally {
        redis.disconnect();
      }
    });
  });

  it('a store URL no parser reads names its key and what to check, exit 2, no password (ioredis said only "Invalid URL")', async () => {
    ensureBuilt();
    for (const [key, url] of [
      ['PAIRGATE_REDIS_URL', `redis://:${SECRET}@127.0.0.1:99999`],
      ['PAIRGATE_DATABASE_URL', `postgres://pairgate:${SECRET}#x@127.0.0.1/pairgate`],
    ] as const) {
      const { code, stderr } = await failingStart({ [key]: url });
      expect(code).toBe(2);
      expect(stderr).toContain(`pairgate: ${key}: `);
      expect(stderr).toContain('is not a URL pairgate can read (a port above 65535?');
      expect(stderr).not.toContain(SECRET);
    }
  });

  describe('the embedded database', () => {
    it.skipIf(!isRoot)('a data folder this user may not write: names the folder, the user and what to do (root runs it as nobody)', async () => {
      ensureBuilt();
      const parent = mkdtempSync(join(tmpdir(), 'pairgate-readonly-'));
      chmodSync(parent, 0o755);
      // Empty, and with a database made by someone else: SQLite said "unable to open database file" and "disk I/O error".
      const empty = join(parent, 'empty');
      const filled = join(parent, 'filled');
      mkdirSync(empty, { mode: 0o755 });
      mkdirSync(filled, { mode: 0o755 });
      new BetterSqlite3(join(filled, 'pairgate.db')).exec('create table t (x)').close();
      chmodSync(join(filled, 'pairgate.db'), 0o644);
      for (const dir of [empty, filled]) {
        const { code, stderr } = await serveOn(dir, [], 65534);
        expect(code).toBe(2);
        expect(stderr).toContain(`--data-dir: cannot write the database ${join(dir, 'pairgate.db')}: `);
        expect(stderr).toContain('let the user running pairgate (uid 65534) write to the folder and to the pairgate.db files in it (chown), or choose another folder [config_invalid]');
      }
      // Given to that user, the same folder serves.
      chownSync(filled, 65534, 65534);
      chownSync(join(filled, 'pairgate.db'), 65534, 65534);
      const fixed = await serveOn(filled, [], 65534);
      expect(fixed.stderr).not.toContain('cannot write');
      expect(fixed.started).toBe(true);
    });

    it('a data folder on a read-only file system: says no owner or mode can help and to point --data-dir elsewhere, never chown, exit 2', async (context) => {
      ensureBuilt();
      const parent = mkdtempSync(join(tmpdir(), 'pairgate-rofs-'));
      const empty = join(parent, 'empty');
      const filled = join(parent, 'filled');
      mkdirSync(empty);
      mkdirSync(filled);
      new BetterSqlite3(join(filled, 'pairgate.db')).exec('create table t (x)').close();
      // Each in a mount namespace of its own, so nothing outside sees the mount: an empty read-only
      // tmpfs (SQLite: "unable to open database file"), and a folder holding a database bind-mounted
      // read-only over itself (SQLite: "attempt to write a readonly database").
      const tmpfs = ['unshare', '--mount', 'sh', '-c', 'mount -t tmpfs -o ro pairgate-ro "$1" && shift && exec "$@"', 'sh', empty];
      const bind = ['unshare', '--mount', 'sh', '-c', 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"', 'sh', filled];
      if (spawnSync(tmpfs[0]!, [...tmpfs.slice(1), 'true']).status !== 0 || spawnSync(bind[0]!, [...bind.slice(1), 'true']).status !== 0) {
        return context.skip('this machine lets no one mount a read-only file system (unshare --mount and mount refused)');
      }
      const advice = 'it is on a read-only file system, which no change of owner or mode can make writable: point --data-dir or PAIRGATE_DATA_DIR at a folder on a writable disk [config_invalid]\n';
      for (const [dir, prefix, sqlite] of [[empty, tmpfs, 'unable to open database file (SQLITE_CANTOPEN)'], [filled, bind, 'attempt to write a readonly database (SQLITE_READONLY)']] as const) {
        const { code, stderr } = await serveOn(dir, [], undefined, [...prefix]);
        expect(stderr).toBe(`pairgate: --data-dir: cannot write the database ${join(dir, 'pairgate.db')}: ${sqlite}; ${advice}`);
        expect(code).toBe(2);
      }
      // A folder still to be made there: refused at its creation, in the same terms.
      const { code, stderr } = await serveOn(join(empty, 'data'), [], undefined, tmpfs);
      expect(stderr).toBe(`pairgate: Cannot create ${join(empty, 'data')} for --data-dir: it is on a read-only file system; choose a folder on a writable disk. [config_invalid]\n`);
      expect(code).toBe(2);
    });

    /**
     * A tmpfs mounted with `options` on a new folder (unmounted after the test), or the test
     * skipped, saying why, where this root may not mount (a container).
     */
    function smallDisk(context: { skip: (note: string) => never }, prefix: string, options: string): string {
      const mountPoint = mkdtempSync(join(tmpdir(), prefix));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mountPoint], { stdio: 'ignore' });
      } catch {
        return context.skip('this machine lets no one mount a tmpfs (mount refused)');
      }
      cleanups.push(async () => execFileSync('umount', [mountPoint]));
      return mountPoint;
    }

    it.skipIf(!isRoot)('a full disk: says so with the folder', async (context) => {
      ensureBuilt();
      const mountPoint = smallDisk(context, 'pairgate-full-', 'size=256k');
      writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(256 * 1024));
      const { code, stderr } = await serveOn(join(mountPoint, 'data'));
      expect(code).toBe(2);
      expect(stderr).toContain('database or disk is full (SQLITE_FULL); free space on its disk, or choose a folder on another disk [config_invalid]');
    });

    it.skipIf(!isRoot)('a disk with no inode left for the data folder: says the disk is full, not a permission', async (context) => {
      ensureBuilt();
      // The root folder takes the only inode: making anything in it is ENOSPC.
      const mountPoint = smallDisk(context, 'pairgate-inodes-', 'size=256k,nr_inodes=1');
      const { code, stderr } = await serveOn(join(mountPoint, 'data'));
      expect(stderr).toBe(`pairgate: Cannot create ${join(mountPoint, 'data')} for --data-dir: its disk is full (no space or no inodes left); free space on it, or choose a folder on another disk. [config_invalid]\n`);
      expect(code).toBe(2);
    });

    it('serves --relay-only on a data folder the whole server prepared, and the whole server again after it', async () => {
      ensureBuilt();
      const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-relay-only-'));
      const whole = await startNode({ PAIRGATE_DATA_DIR: dataDir });
      await whole.stop();
      // It stopped with "database migration  failed: corrupted migrations: previously executed migration ... is missing".
      const relay = await startNode({ PAIRGATE_DATA_DIR: dataDir, PAIRGATE_RELAY_ONLY: 'true' });
      expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
      await relay.stop();
      const again = await startNode({ PAIRGATE_DATA_DIR: dataDir });
      expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
      await again.stop();
    });

    it('refuses a database a newer version migrated (a rollback), saying what to do, and leaves it as it was', async () => {
      ensureBuilt();
      const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-newer-'));
      const first = await startNode({ PAIRGATE_DATA_DIR: dataDir });
      await first.stop();
      const file = join(dataDir, 'pairgate.db');
      const sqlite = new BetterSqlite3(file);
      sqlite.prepare('insert into pairgate_migrations (name, timestamp) values (?, ?)').run('2099010100_from_the_future', new Date().toISOString());
      const before = sqlite.prepare('select count(*) as n from pairgate_migrations').get();
      sqlite.close();
      const { code, stderr } = await serveOn(dataDir);
      expect(code).toBe(2);
      expect(stderr).toContain('The database was migrated by a newer version of pairgate (migration 2099010100_from_the_future, unknown to this version)');
      expect(stderr).toContain('restore a copy made before the upgrade (docs/backups.md). [database_newer_than_server]');
      const after = new BetterSqlite3(file, { readonly: true });
      expect(after.prepare('select count(*) as n from pairgate_migrations').get()).toEqual(before);
      after.close();
    });
  });

  it('the systemd unit gives up on a setting to change (exit 2) and retries a store that does not answer yet (exit 1)', async () => {
    ensureBuilt();
    const unit = readFileSync(new URL('../../contrib/systemd/pairgate.service', import.meta.url), 'utf8');
    const prevented = /^RestartPreventExitStatus=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
    const refused = await serveOn(mkdtempSync(join(tmpdir(), 'pairgate-unit-exit-')), ['--port', 'not-a-port']);
    const port = await freePort();
    const away = await failingStart({ PAIRGATE_REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(away.stderr).toContain('[store_unavailable]');
    expect(prevented).toContain(String(refused.code));
    expect(prevented).not.toContain(String(away.code));
    // Ordered after the stores of this machine, so a boot does not start it before them.
    expect(/^After=(.*)$/m.exec(unit)?.[1]).toMatch(/postgresql\.service.*redis-server\.service/);
  });
});
