// The floor of grant creation: what creating a grant costs with only the parts the foundation
// requires of every creation and nothing of pairgate's own design. Fastify with the API security
// headers and @fastify/rate-limit, a validated body and a schema'd answer, a code, an id and a
// secret from the CSPRNG with their hashes (the code's keyed, as every code is stored), and one row in pairgate's SQLite table (same
// migrations, same pragmas, group commits). No grant engine, no code uniqueness, no read cache,
// no metrics, cookies, WebSockets or logging. pairgate's creation can come near this figure, not
// pass it: how far the floor itself is from the bare baseline says what the target asks of it.
import Fastify from 'fastify';
import rateLimit from '@fastify/rate-limit';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CodeFormat, CodeHasher } from '../../dist/core/codes.js';
import { hashToken, randomToken, timeOrderedId } from '../../dist/core/ids.js';
import { migrateToLatest } from '../../dist/store/migrate.js';
import { coreMigrations } from '../../dist/store/migrations/core.js';
import { sqliteMigrations } from '../../dist/store/sqlite/sqlite-migrations.js';
import { NEW_DATABASE_PAGE_SIZE } from '../../dist/store/sqlite/sqlite-stores.js';
import { API_SECURITY_HEADERS } from '../../dist/server/security-headers.js';

const TTL_MS = 600_000;
const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-floor-'));
const sqlite = new Database(join(dataDir, 'floor.db'));
// 4 KiB pages, WAL and no fsync per commit, as pairgate's store sets them (sqlite-stores.ts). The
// floor keeps the simpler set-up pairgate had until 4 December: the database file held exclusively
// (no shared-memory index or file locks per transaction) and SQLite's own checkpoints on the
// serving thread. pairgate now locks a file of its own and checkpoints on a thread of its own
// (BackgroundCheckpoint), which measured at parity on one core.
sqlite.pragma(`page_size = ${NEW_DATABASE_PAGE_SIZE}`);
sqlite.pragma('locking_mode = EXCLUSIVE');
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');
const db = new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
await migrateToLatest(db, { ...coreMigrations, ...sqliteMigrations });

const insert = sqlite.prepare(
  'insert into grants (id, kind, state, code_hash, secret_hash, request, result, attempts, version, created_at, updated_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
);
const insertAll = sqlite.transaction((rows) => {
  for (const row of rows) insert.run(row);
});
let queue = [];

/** Queues `row` for the next group commit; resolves once it is committed. */
function insertRow(row) {
  return new Promise((resolve, reject) => {
    queue.push({ row, resolve, reject });
    if (queue.length === 1) setImmediate(flush);
  });
}

function flush() {
  const batch = queue;
  queue = [];
  try {
    insertAll(batch.map((entry) => entry.row));
    for (const entry of batch) entry.resolve();
  } catch (error) {
    for (const entry of batch) entry.reject(error);
  }
}

const format = new CodeFormat({ alphabet: 'base32', length: 8, checkCharacter: true, groupSize: 4 });
const codes = new CodeHasher(randomBytes(32));
const text = { type: 'string' };
const body = {
  type: 'object',
  required: ['label'],
  additionalProperties: false,
  properties: { label: { type: 'string', minLength: 1, maxLength: 200 }, data: { type: 'object', additionalProperties: text }, ttl: { type: 'integer', minimum: 1 } },
};
const answer = {
  type: 'object',
  properties: {
    id: text, kind: text, state: text, version: { type: 'integer' }, label: text, data: { type: 'object', additionalProperties: text },
    createdAt: text, expiresAt: text, code: text, secret: text, waitUrl: text, eventsUrl: text,
  },
};

const app = Fastify({ logger: false });
app.addHook('onRequest', (_request, reply, done) => {
  reply.headers(API_SECURITY_HEADERS);
  done();
});
await app.register(rateLimit, { global: true, max: 100_000_000, timeWindow: 60_000 });
app.post('/api/v1/grants', { schema: { body, response: { 201: answer } } }, async (request, reply) => {
  const now = Date.now();
  const id = timeOrderedId(now);
  const code = format.generate();
  const secret = randomToken();
  const data = request.body.data ?? {};
  const requestText = JSON.stringify({ label: request.body.label, data });
  await insertRow([id, 'pair', 'pending', codes.hash('pair', code), hashToken(secret), requestText, null, 0, 1, now, now, now + TTL_MS]);
  const base = `http://${request.host}/api/v1/grants/${id}`;
  return reply.code(201).send({
    id, kind: 'pair', state: 'pending', version: 1, label: request.body.label, data,
    createdAt: new Date(now).toISOString(), expiresAt: new Date(now + TTL_MS).toISOString(),
    code: format.format(code), secret, waitUrl: `${base}?wait=60`, eventsUrl: `${base}/events`,
  });
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`floor listening on http://127.0.0.1:${app.server.address().port}\n`);
process.once('SIGTERM', () =>
  app.close().then(() => {
    sqlite.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }),
);
