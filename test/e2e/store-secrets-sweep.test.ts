import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { createTestDatabase, createTestPrefix, postgresMissing, REDIS_URL, redisMissing } from '../helpers/services.js';
import { findSecret, MIN_SECRET_LENGTH, secretSweep, type SecretSweep } from './secret-sweep-flows.js';

/**
 * The product's promise, checked over the whole server at once: secrets and tokens are stored only
 * hashed (or sealed in the secret box where pairgate must use them again). The flows of
 * ./secret-sweep-flows.ts (shared with ./log-secrets-sweep.test.ts: one per door, failing requests
 * included) run on one app and its relay; then what their stores hold is read, and no secret any
 * request or answer carried may be found there:
 * - SQLite: the bytes of `pairgate.db` and `pairgate.db-wal` (free pages and WAL frames included:
 *   a secret once written in clear and deleted since was still stored in clear), and every row of
 *   every table through the database (`SELECT *`), JSON columns walked, so text is seen decoded;
 * - Redis (the grants, ephemeral entries and rate limits) and PostgreSQL (durable data) when they
 *   answer: every key and value under the test's prefix, every row of every table of the test's
 *   database.
 * Each secret is searched as written (codes in every spelling a person may type, upper and lower
 * case: `spellings`), and in the encodings a store might hold it in (`storedForms`): hex (both
 * cases), base64 and base64url of its bytes, and for a token that is itself base64(url) or hex text,
 * the other encodings of the bytes it stands for. A code a person types is stored keyed-hashed
 * (HMAC under the server's code key, `CodeHasher`): its unkeyed SHA-256, alone or as `kind:code`,
 * would give a 30-35-bit code up in minutes of guessing, so those count as plain form too.
 *
 * What is stored in plain form on purpose is never in the secret set (the driver collects only
 * secret-named fields, credentials and cookies): the ids of grants, installations and organizations
 * (they find a record; every use is guarded by a credential of its own: a session, a signature, a
 * signed JWT, the device door's ticket bound to the browser's CSRF cookie; the device consent form's
 * `key` is the authorization's id and is set aside by the flows, `notSecrets`), public keys and
 * certificate fingerprints (the registry's and DNS door's box identities: public by design; a
 * registry announcement's JWS is collected as an Authorization header, and none of it is stored in
 * that form; its `jti`, a replay guard kept until it expires, is a nonce, not a credential), the DNS
 * door's record values (an ACME challenge's TXT value is served to anyone who asks over DNS), user
 * names, e-mail addresses, labels and notes. Configuration secrets (API keys, the introspection
 * secrets, the install door's key) are collected too: none belongs in a store.
 *
 * A secret of six characters (a support pairing code) could occur by chance in the base64url text
 * of the hashes stored around it: about one run in a few thousand, as for the log sweep. Needles shorter than ten characters
 * therefore count only as a whole word (`findSecret`).
 *
 * Not covered: the data folder's other files (the outbox's mails carry a reset token by design: the
 * test mailer's output; `code-hash.key` and `secret-box.key` are the keys themselves).
 */

/** The doors whose grants are found by a code (`kind:code` is what `CodeHasher` hashes). */
const CODE_KINDS = ['pair', 'device', 'access', 'support-pairing', 'support-relay'];

/** The forms a store could hold `secret` in, each with its name; a code's unkeyed hashes too. */
function storedForms(secret: string, isCode: boolean): Array<[form: string, encoding: string]> {
  const forms = new Map<string, string>([[secret, 'as written']]);
  const add = (form: string, encoding: string): void => {
    if (form.length >= MIN_SECRET_LENGTH && !forms.has(form)) forms.set(form, encoding);
  };
  const ofBytes = (bytes: Buffer, what: string): void => {
    add(bytes.toString('hex'), `hex of ${what}`);
    add(bytes.toString('hex').toUpperCase(), `upper-case hex of ${what}`);
    add(bytes.toString('base64'), `base64 of ${what}`);
    add(bytes.toString('base64').replace(/=+$/, ''), `base64 without padding of ${what}`);
    add(bytes.toString('base64url'), `base64url of ${what}`);
  };
  ofBytes(Buffer.from(secret, 'utf8'), 'its UTF-8 bytes');
  // A token that is the text of random bytes: the same bytes in the other encodings.
  if (secret.length >= 16 && /^[0-9a-f]+$/i.test(secret) && secret.length % 2 === 0) ofBytes(Buffer.from(secret, 'hex'), 'the bytes its hex stands for');
  else if (secret.length >= 16 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(secret)) {
    const bytes = Buffer.from(secret.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length >= 12) ofBytes(bytes, 'the bytes its base64 stands for');
  }
  // Only a code short enough to guess: a longer value under a name ending in `code` (the device
  // door's `device_code`) is a token of 256 random bits, whose plain SHA-256 is how tokens are kept.
  if (isCode && secret.replace(/[\s-]/g, '').length <= 16) {
    for (const hashed of [secret, ...CODE_KINDS.map((kind) => `${kind}:${secret}`)]) {
      const digest = createHash('sha256').update(hashed).digest();
      add(digest.toString('base64url'), `unkeyed SHA-256 of ${JSON.stringify(hashed)}, base64url`);
      add(digest.toString('base64'), `unkeyed SHA-256 of ${JSON.stringify(hashed)}, base64`);
      add(digest.toString('hex'), `unkeyed SHA-256 of ${JSON.stringify(hashed)}, hex`);
    }
  }
  return [...forms];
}

/** A needle: one form of one secret, and what it is. */
interface Needle {
  form: string;
  bytes: Buffer;
  what: string;
}

function needlesOf(secrets: Map<string, string>, codes: ReadonlySet<string> = new Set()): Needle[] {
  const needles: Needle[] = [];
  for (const [secret, where] of secrets) {
    for (const [form, encoding] of storedForms(secret, codes.has(secret))) needles.push({ form, bytes: Buffer.from(form, 'utf8'), what: `${where} (${JSON.stringify(secret)}, ${encoding})` });
  }
  return needles;
}

/** Where `needles` occur in `bytes` (a file, a Redis value): each with some text around it. */
function findInBytes(bytes: Buffer, needles: Needle[], place: string): string[] {
  const found: string[] = [];
  // latin1: one character per byte, so the offset is the byte's. Made once: made per needle, the
  // copies of a database file of some megabytes took most of the sweep's time.
  const text = bytes.toString('latin1');
  for (const needle of needles) {
    const at = findSecret(text, needle.bytes.toString('latin1'));
    if (at >= 0) found.push(`${place} at byte ${at}: ${needle.what} in ${JSON.stringify(bytes.subarray(Math.max(0, at - 60), at + needle.bytes.length + 60).toString('latin1'))}`);
  }
  return found;
}

/** Where `needles` occur in a stored value (a column, a hash field): text as stored and decoded (JSON walked), bytes as bytes. */
function findInValue(value: unknown, needles: Needle[], place: string): string[] {
  const texts: string[] = [];
  const walk = (inner: unknown): void => {
    if (typeof inner === 'string') {
      texts.push(inner);
      if (/^[[{"]/.test(inner)) {
        try {
          walk(JSON.parse(inner));
        } catch {
          // Not JSON: the text alone.
        }
      }
    } else if (Buffer.isBuffer(inner) || inner instanceof Uint8Array) {
      const bytes = Buffer.from(inner);
      texts.push(bytes.toString('utf8'), bytes.toString('latin1'), bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url'));
    } else if (Array.isArray(inner)) {
      for (const item of inner) walk(item);
    } else if (inner instanceof Date || inner === null || typeof inner !== 'object') {
      return;
    } else {
      for (const [key, item] of Object.entries(inner)) {
        texts.push(key);
        walk(item);
      }
    }
  };
  walk(value);
  const found: string[] = [];
  for (const needle of needles) {
    const text = texts.find((candidate) => findSecret(candidate, needle.form) >= 0);
    if (text !== undefined) {
      const at = findSecret(text, needle.form);
      found.push(`${place}: ${needle.what} in ${JSON.stringify(text.slice(Math.max(0, at - 60), at + needle.form.length + 60))}`);
    }
  }
  return found;
}

/** Every row of every table of the SQLite database in `dataDir`, read through a connection of its own. */
function sqliteRows(dataDir: string): Array<{ table: string; row: Record<string, unknown> }> {
  const db = new BetterSqlite3(join(dataDir, 'pairgate.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    return tables.flatMap(({ name }) => (db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Array<Record<string, unknown>>).map((row) => ({ table: name, row })));
  } finally {
    db.close();
  }
}

/** Where the needles occur in the SQLite files of `dataDir` (bytes) and in its rows (decoded). */
function findInSqlite(dataDir: string, needles: Needle[], name: string): { files: string[]; rows: string[]; rowCount: number } {
  const files: string[] = [];
  for (const file of ['pairgate.db', 'pairgate.db-wal']) {
    const path = join(dataDir, file);
    if (existsSync(path)) files.push(...findInBytes(readFileSync(path), needles, `${name} ${file}`));
  }
  const rows = sqliteRows(dataDir);
  const found = rows.flatMap(({ table, row }) =>
    Object.entries(row).flatMap(([column, value]) => findInValue(value, needles, `${name} table ${table} column ${column} (row ${JSON.stringify(Object.values(row)[0])})`)),
  );
  return { files, rows: found, rowCount: rows.length };
}

/** The kinds of secret the flows must have collected: the check is not vacuous. */
const EXPECTED_KINDS = ['grant code', 'grant secret', 'reset token', 'access token', 'device user_code', 'set-cookie pg_session', 'support agent credential', 'support pairing code', 'relay code', 'mattermost jwt', 'answer refresh_token', 'answer jwt_secret', 'answer signing_secret', 'answer token', 'header authorization', 'page csrf'];

function expectManySecrets(sweep: SecretSweep): void {
  expect(sweep.secrets.size).toBeGreaterThan(100);
  for (const kind of EXPECTED_KINDS) expect([...sweep.secrets.values()].some((where) => where.includes(kind)), kind).toBe(true);
}

describe('no secret is stored in plain form: SQLite, every door', () => {
  const sweep = secretSweep();
  let needles: Needle[] = [];
  const dataDirs = (): Array<[string, TestApp]> => [['app', sweep.t], ['relay', sweep.relay]];

  beforeAll(() => sweep.start());
  afterAll(() => sweep.close());

  it('drives every door, failing requests included', async () => {
    await sweep.driveEveryDoor();
    needles = needlesOf(sweep.secrets, sweep.codes);
  }, 120_000);

  it('collected many secrets of every kind, and the stores hold what the flows wrote', () => {
    expectManySecrets(sweep);
    for (const [name, app] of dataDirs()) {
      const { rowCount } = findInSqlite(app.config.PAIRGATE_DATA_DIR, [], name);
      expect(rowCount, name).toBeGreaterThan(name === 'app' ? 20 : 1);
    }
  });

  it('no secret in the database files (pairgate.db and its WAL, bytes)', () => {
    expect(dataDirs().flatMap(([name, app]) => findInSqlite(app.config.PAIRGATE_DATA_DIR, needles, name).files)).toEqual([]);
  });

  it('no secret in any table row (SELECT *, JSON decoded)', () => {
    expect(dataDirs().flatMap(([name, app]) => findInSqlite(app.config.PAIRGATE_DATA_DIR, needles, name).rows)).toEqual([]);
  });
});

describe('the store sweep finds a secret stored in any of its forms (canary)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pairgate-store-canary-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('in the file bytes and in the rows: hex of a base64url token, a code in another case, a code hashed without the key', () => {
    const token = Buffer.alloc(32, 0xa7).toString('base64url');
    const code = 'abcd-efgh';
    const db = new BetterSqlite3(join(dir, 'pairgate.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE canary (id TEXT, hashed TEXT, data TEXT, raw BLOB, code_hash TEXT)');
    const unkeyed = createHash('sha256').update(`pair:${code}`).digest('base64url');
    db.prepare('INSERT INTO canary VALUES (?, ?, ?, ?, ?)').run('row-1', Buffer.from(token, 'base64url').toString('hex'), JSON.stringify({ note: 'ABCDEFGH' }), Buffer.from('nothing here'), unkeyed);
    const secrets = new Map([[token, 'canary token'], [code, 'canary code'], ['ABCDEFGH', 'canary code']]);
    const found = findInSqlite(dir, needlesOf(secrets, new Set([code, 'ABCDEFGH'])), 'canary');
    db.close();
    expect(found.rows.some((hit) => hit.includes('column hashed') && hit.includes('hex of the bytes its base64 stands for'))).toBe(true);
    expect(found.rows.some((hit) => hit.includes('column data') && hit.includes('"ABCDEFGH", as written'))).toBe(true);
    expect(found.rows.some((hit) => hit.includes('column code_hash') && hit.includes('unkeyed SHA-256 of "pair:abcd-efgh"'))).toBe(true);
    expect(found.files.some((hit) => hit.includes('hex of the bytes its base64 stands for'))).toBe(true);
    expect(findInValue(Buffer.from(token, 'base64url'), needlesOf(new Map([[token, 'token']])), 'blob')).not.toEqual([]);
  });
});

/** Every key and value under `prefix`, each value in the form its type reads back in. */
async function redisEntries(prefix: string): Promise<Array<{ key: string; value: unknown }>> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const entries: Array<{ key: string; value: unknown }> = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string' ? await redis.getBuffer(key)
          : type === 'hash' ? await redis.hgetall(key)
          : type === 'set' ? await redis.smembers(key)
          : type === 'zset' ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
          : type === 'list' ? await redis.lrange(key, 0, -1)
          : type === 'stream' ? await redis.xrange(key, '-', '+')
          : `(a ${type})`;
        entries.push({ key, value });
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return entries;
}

/** Every row of every table of the database at `url` (its own schemas, not PostgreSQL's). */
async function postgresRows(url: string): Promise<Array<{ table: string; row: Record<string, unknown> }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      "SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    const rows: Array<{ table: string; row: Record<string, unknown> }> = [];
    for (const { schema, name } of tables) {
      const quoted = `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;
      for (const row of (await client.query<Record<string, unknown>>(`SELECT * FROM ${quoted}`)).rows) rows.push({ table: `${schema}.${name}`, row });
    }
    return rows;
  } finally {
    await client.end();
  }
}

const servicesMissing = (await redisMissing()) ?? (await postgresMissing());

describe.skipIf(servicesMissing !== undefined)(`no secret is stored in plain form: Redis and PostgreSQL, every door${servicesMissing ? ` (skipped: ${servicesMissing})` : ''}`, () => {
  const sweep = secretSweep();
  let needles: Needle[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const { prefix, cleanup } = createTestPrefix();

  beforeAll(async () => {
    database = await createTestDatabase();
    // The main app on PostgreSQL and Redis, as deployed on several nodes; the relay stays embedded.
    await sweep.start({ env: { PAIRGATE_DATABASE_URL: database.url, PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix } });
  });
  afterAll(async () => {
    await sweep.close();
    await cleanup();
    await database?.drop();
  });

  it('drives every door, failing requests included', async () => {
    await sweep.driveEveryDoor();
    needles = needlesOf(sweep.secrets, sweep.codes);
    expectManySecrets(sweep);
  }, 120_000);

  it('no secret in any Redis key or value under the test prefix', async () => {
    const entries = await redisEntries(prefix);
    expect(entries.length).toBeGreaterThan(5);
    const found = entries.flatMap(({ key, value }) => [...findInValue(key, needles, `redis key ${key}`), ...(Buffer.isBuffer(value) ? findInBytes(value, needles, `redis value of ${key}`) : []), ...findInValue(value, needles, `redis value of ${key}`)]);
    expect([...new Set(found)]).toEqual([]);
  });

  it('no secret in any PostgreSQL row (SELECT *, JSON decoded)', async () => {
    const rows = await postgresRows(database!.url);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.flatMap(({ table, row }) => Object.entries(row).flatMap(([column, value]) => findInValue(value, needles, `postgres table ${table} column ${column} (row ${JSON.stringify(Object.values(row)[0])})`)))).toEqual([]);
  });

  it('the relay (embedded) holds none either', () => {
    const { files, rows } = findInSqlite(sweep.relay.config.PAIRGATE_DATA_DIR, needles, 'relay');
    expect([...files, ...rows]).toEqual([]);
  });
});
