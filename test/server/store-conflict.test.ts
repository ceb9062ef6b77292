import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { toPairgateError } from '../../src/server/error-handler.js';
import { createTestDatabase, postgresMissing } from '../helpers/services.js';

/**
 * A transaction PostgreSQL ends to break a deadlock (40P01) kept nothing, and the same request
 * again is likely to pass: it was answered 500 `internal_error`, "Something went wrong on our
 * side", where a 503 to retry is the truth. A real deadlock of two connections gives the error.
 */
const skip = await postgresMissing();
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
});

describe.skipIf(Boolean(skip))(`a transaction ended by PostgreSQL for a deadlock${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('is answered 503 store_conflict, to try again, not 500', async () => {
    const database = await createTestDatabase();
    drops.push(() => database.drop());
    const [a, b] = [new pg.Client({ connectionString: database.url }), new pg.Client({ connectionString: database.url })];
    await a.connect();
    await b.connect();
    try {
      await a.query('CREATE TABLE rows (id integer PRIMARY KEY)');
      await a.query('INSERT INTO rows VALUES (1), (2)');
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('SELECT id FROM rows WHERE id = 1 FOR UPDATE');
      await b.query('SELECT id FROM rows WHERE id = 2 FOR UPDATE');
      // Each waits for the other's row: PostgreSQL ends one of them.
      const outcomes = await Promise.allSettled([
        a.query('SELECT id FROM rows WHERE id = 2 FOR UPDATE').finally(() => a.query('ROLLBACK')),
        b.query('SELECT id FROM rows WHERE id = 1 FOR UPDATE').finally(() => b.query('ROLLBACK')),
      ]);
      const ended = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as { code?: string }] : []));
      expect(ended.map((error) => error.code)).toEqual(['40P01']);
      const { error, unexpected } = toPairgateError(ended[0]);
      expect(unexpected).toBe(false);
      expect(error).toMatchObject({ status: 503, code: 'store_conflict', message: expect.stringMatching(/was not made\. Try again/) });
      // Wrapped, as a store may rethrow it with its cause.
      expect(toPairgateError(new Error('the transaction failed', { cause: ended[0] })).error).toMatchObject({ status: 503, code: 'store_conflict' });
    } finally {
      await a.end();
      await b.end();
    }
  });
});
