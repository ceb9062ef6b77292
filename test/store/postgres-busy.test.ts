import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/core/ids.js';
import { PG_ADMIN_URL, postgresMissing } from '../helpers/services.js';
import { ensureBuilt, failingStart, startNode } from '../helpers/node-process.js';

/**
 * PostgreSQL that answers but has no connection to spare (max_connections reached by nodes x pool
 * size, here a role's CONNECTION LIMIT): requests get 503 `store_unavailable` with Retry-After, as
 * for a store that is away, never a 500; a start says what to raise or lower.
 */

const pgSkip = await postgresMissing();

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

describe.skipIf(Boolean(pgSkip))(`PostgreSQL out of connections${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  const name = `pairgate_busy_${randomId(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const url = new URL(PG_ADMIN_URL);
  url.username = name;
  url.pathname = `/${name}`;
  const created = pgSkip
    ? Promise.resolve()
    : (async () => {
        await admin(`CREATE ROLE ${name} LOGIN CONNECTION LIMIT 2`);
        await admin(`CREATE DATABASE ${name} OWNER ${name}`);
      })();
  afterAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin(`DROP ROLE IF EXISTS ${name}`).catch(() => {});
  });

  it('answers 503 store_unavailable with Retry-After, never 500, while the pool cannot get a connection', async () => {
    ensureBuilt();
    await created;
    // Two connections allowed, a pool of ten: a burst needs more than PostgreSQL gives.
    const node = await startNode({ PAIRGATE_DATABASE_URL: url.toString(), PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '100000' });
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          fetch(`${node.url}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"busy"}' }).then(async (response) => ({
            status: response.status,
            retryAfter: response.headers.get('retry-after'),
            body: (await response.json()) as Record<string, unknown>,
          })),
        ),
      );
      expect(answers.filter((answer) => answer.status === 500)).toEqual([]);
      const refused = answers.filter((answer) => answer.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      for (const answer of refused) {
        expect(answer.body).toMatchObject({ error: 'store_unavailable' });
        expect(answer.retryAfter).toBe('5');
      }
      // And the node serves again as soon as a connection is free.
      const after = await fetch(`${node.url}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"after"}' });
      expect(after.status).toBe(201);
    } finally {
      await node.stop();
    }
  });

  it('a start it cannot get a connection for says what to raise or lower', async () => {
    ensureBuilt();
    await created;
    await admin(`ALTER ROLE ${name} CONNECTION LIMIT 0`);
    const { code, stderr } = await failingStart({ PAIRGATE_DATABASE_URL: url.toString() });
    expect(code).toBe(1);
    expect(stderr).toContain(`too many connections for role "${name}" (53300); PostgreSQL has no connection or resource to spare: raise its max_connections`);
    expect(stderr).toContain('lower PAIRGATE_DATABASE_POOL_SIZE [store_unavailable]');
  });
});
