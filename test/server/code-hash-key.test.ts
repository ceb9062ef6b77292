import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CodeHasher } from '../../src/core/codes.js';
import { CODE_KEY_FILE, codeKeyWarning } from '../../src/server/code-hash-key.js';
import { loadConfig } from '../../src/server/config.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ensureBuilt, startNode } from '../helpers/node-process.js';
import { createTestDatabase, createTestPrefix, postgresMissing, REDIS_URL, redisMissing } from '../helpers/services.js';

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function app(env: Record<string, string> = {}): Promise<TestApp> {
  const made = await createTestApp(env);
  apps.push(made);
  return made;
}

/** Creates a grant with a code through the API; its id and code. */
async function createGrant(testApp: TestApp): Promise<{ id: string; code: string }> {
  const response = await testApp.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'code key' } });
  expect(response.statusCode).toBe(201);
  return response.json<{ id: string; code: string }>();
}

const lookUp = (testApp: TestApp, code: string) => testApp.app.inject({ method: 'GET', url: `/api/v1/codes/${encodeURIComponent(code)}` });

/** The stored code hash of grant `id` in the embedded database of `testApp`. */
function storedHash(testApp: TestApp, id: string): string {
  const db = new Database(join(testApp.config.PAIRGATE_DATA_DIR, 'pairgate.db'), { readonly: true });
  try {
    return (db.prepare('select code_hash from grants where id = ?').get(id) as { code_hash: string }).code_hash;
  } finally {
    db.close();
  }
}

/** The canonical form of a code as the API shows it (grouped, with its check character). */
const canonical = (code: string) => code.replace(/-/g, '').toLowerCase();

describe('codes are stored under a keyed hash', () => {
  it('embedded default: a key file made once (mode 0600), the stored hash is the HMAC under it, never the plain SHA-256', async () => {
    const server = await app();
    const { id, code } = await createGrant(server);
    const path = join(server.config.PAIRGATE_DATA_DIR, CODE_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    expect(key).toHaveLength(32);
    const stored = storedHash(server, id);
    expect(stored).toBe(new CodeHasher(key).hash('pair', canonical(code)));
    // What a copy of the database gave away before: the code, by hashing the ~2^35 candidates.
    expect(stored).not.toBe(createHash('sha256').update(`pair:${canonical(code)}`).digest('base64url'));
    expect((await lookUp(server, code)).statusCode).toBe(200);
  });

  it('the key file outlives a restart: a code made before is found after', async () => {
    // A folder of the test's own: an app's own one goes when it closes.
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-code-key-'));
    const first = await app({ PAIRGATE_DATA_DIR: dataDir });
    const { code } = await createGrant(first);
    const key = readFileSync(join(dataDir, CODE_KEY_FILE), 'utf8');
    await apps.splice(0).pop()!.close();
    const second = await app({ PAIRGATE_DATA_DIR: dataDir });
    expect(readFileSync(join(dataDir, CODE_KEY_FILE), 'utf8')).toBe(key);
    expect((await lookUp(second, code)).statusCode).toBe(200);
  });

  it('a configured key is used, and no key file is made', async () => {
    const key = randomBytes(32);
    const server = await app({ PAIRGATE_CODE_HASH_KEY: key.toString('base64') });
    const { id, code } = await createGrant(server);
    expect(storedHash(server, id)).toBe(new CodeHasher(key).hash('pair', canonical(code)));
    expect(existsSync(join(server.config.PAIRGATE_DATA_DIR, CODE_KEY_FILE))).toBe(false);
  });

  it('a configured key that is not 32 bytes of base64 stops the start naming the setting, never the value', async () => {
    const error = await createTestApp({ PAIRGATE_CODE_HASH_KEY: 'c2hvcnQ=' }).then(() => undefined, (thrown: Error) => thrown);
    expect(error?.message).toMatch(/^PAIRGATE_CODE_HASH_KEY: expected 32 random bytes in base64/);
    expect(error?.message).not.toContain('c2hvcnQ=');
  });

  it('the key of a code changes with the server key: a code made under one key is not found under another', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-code-key-'));
    const key = randomBytes(32).toString('base64');
    const first = await app({ PAIRGATE_DATA_DIR: dataDir, PAIRGATE_CODE_HASH_KEY: key });
    const { code } = await createGrant(first);
    await apps.splice(0).pop()!.close();
    const other = await app({ PAIRGATE_DATA_DIR: dataDir, PAIRGATE_CODE_HASH_KEY: randomBytes(32).toString('base64') });
    expect((await lookUp(other, code)).statusCode).toBe(404);
    await apps.splice(0).pop()!.close();
    // The same database under its own key again: the code is there all along.
    const same = await app({ PAIRGATE_DATA_DIR: dataDir, PAIRGATE_CODE_HASH_KEY: key });
    expect((await lookUp(same, code)).statusCode).toBe(200);
  });

  it('only shared stores without a configured key are warned about', () => {
    const config = (env: Record<string, string>) => loadConfig([], { env: { PAIRGATE_DATA_DIR: '/tmp/unused', ...env } });
    expect(codeKeyWarning(config({}))).toBeUndefined();
    expect(codeKeyWarning(config({ PAIRGATE_DATABASE_URL: 'postgres://db/pairgate', PAIRGATE_CODE_HASH_KEY: randomBytes(32).toString('base64') }))).toBeUndefined();
    expect(codeKeyWarning(config({ PAIRGATE_DATABASE_URL: 'postgres://db/pairgate' }))).toMatch(/^PAIRGATE_CODE_HASH_KEY is not set: codes are hashed under a key kept in PostgreSQL with them, so whoever can read PostgreSQL/);
    expect(codeKeyWarning(config({ PAIRGATE_REDIS_URL: 'redis://cache:6379' }))).toMatch(/kept in Redis with them/);
    expect(codeKeyWarning(config({ PAIRGATE_REDIS_URL: 'redis://cache:6379', PAIRGATE_DATABASE_URL: 'postgres://db/pairgate' }))).toMatch(/kept in Redis with them/);
  });
});

describe('the key file made by several processes at once', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('eight processes on a fresh data folder all read the one key the file holds, and no temporary file is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-code-key-race-'));
    const module = JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/server/secret-box.js')).href);
    // Each waits until a common moment (a second from now) so that they race on the file.
    const at = Date.now() + 1500;
    const script = `
      const { loadSecretKey } = await import(${module});
      while (Date.now() < ${at}) await new Promise((resolve) => setTimeout(resolve, 1));
      process.stdout.write(loadSecretKey('', process.argv[1], 'PAIRGATE_CODE_HASH_KEY', ${JSON.stringify(CODE_KEY_FILE)}).toString('base64'));
    `;
    const keys = await Promise.all(Array.from({ length: 8 }, () => new Promise<string>((resolve, reject) => {
      const child = spawn('node', ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => { out += String(chunk); });
      child.stderr.on('data', (chunk: Buffer) => { err += String(chunk); });
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
    })));
    const onDisk = readFileSync(join(dir, CODE_KEY_FILE), 'utf8').trim();
    expect(keys).toEqual(Array.from({ length: 8 }, () => onDisk));
    expect(readdirSync(dir)).toEqual([CODE_KEY_FILE]);
  }, 60_000);
});

const pgSkip = await postgresMissing();

describe.skipIf(Boolean(pgSkip))(`nodes sharing PostgreSQL without a configured key${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  it('share the key the first drew (one server_keys row): a code made on one is found on the other', async () => {
    const database = await createTestDatabase();
    try {
      const [one, two] = await Promise.all([app({ PAIRGATE_DATABASE_URL: database.url }), app({ PAIRGATE_DATABASE_URL: database.url })]);
      const { id, code } = await createGrant(one!);
      expect((await lookUp(two!, code)).statusCode).toBe(200);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const keys = await client.query<{ name: string; value: string }>('select name, value from server_keys');
        expect(keys.rows.map((row) => row.name)).toEqual(['code-hash']);
        const stored = await client.query<{ code_hash: string }>('select code_hash from grants where id = $1', [id]);
        expect(stored.rows[0]!.code_hash).toBe(new CodeHasher(Buffer.from(keys.rows[0]!.value, 'base64')).hash('pair', canonical(code)));
      } finally {
        await client.end();
      }
      // Nothing in either data folder: the key is in the database.
      for (const node of [one!, two!]) expect(existsSync(join(node.config.PAIRGATE_DATA_DIR, CODE_KEY_FILE))).toBe(false);
    } finally {
      await Promise.all(apps.splice(0).map((made) => made.close()));
      await database.drop();
    }
  });

  it('`pairgate serve` warns at start-up that the key is kept with the codes, and not once the key is set', async () => {
    ensureBuilt();
    const database = await createTestDatabase();
    try {
      const unset = await startNode({ PAIRGATE_DATABASE_URL: database.url });
      await unset.stop();
      expect(unset.stderr()).toContain('PAIRGATE_CODE_HASH_KEY is not set: codes are hashed under a key kept in PostgreSQL with them');
      const set = await startNode({ PAIRGATE_DATABASE_URL: database.url, PAIRGATE_CODE_HASH_KEY: randomBytes(32).toString('base64') });
      await set.stop();
      expect(set.stderr()).not.toContain('PAIRGATE_CODE_HASH_KEY');
    } finally {
      await database.drop();
    }
  }, 60_000);
});

const redisSkip = await redisMissing();

describe.skipIf(Boolean(redisSkip))(`nodes sharing Redis (grants there, each its own SQLite) without a configured key${redisSkip ? ` (skipped: ${redisSkip})` : ''}`, () => {
  it('share the key the first drew, kept in Redis under the prefix: a code made on one is found on the other', async () => {
    const { prefix, cleanup } = createTestPrefix();
    try {
      const env = { PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix };
      const [one, two] = await Promise.all([app(env), app(env)]);
      const { code } = await createGrant(one!);
      expect((await lookUp(two!, code)).statusCode).toBe(200);
      const stored = await one!.app.pairgate.stores.sharedKey!('code-hash');
      expect(stored).toHaveLength(32);
      for (const node of [one!, two!]) expect(existsSync(join(node.config.PAIRGATE_DATA_DIR, CODE_KEY_FILE))).toBe(false);
    } finally {
      await Promise.all(apps.splice(0).map((made) => made.close()));
      await cleanup();
    }
  });
});
