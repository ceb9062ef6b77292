import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import type { FastifyReply, FastifyRequest } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { sendError } from '../../src/server/error-handler.js';
import { loggerOptions } from '../../src/server/logger.js';

/**
 * During an incident the operator reads the log line of each 503 `store_unavailable`: it must say
 * what failed and what to do, not repeat the client's "a backing store is unreachable" (which sent
 * the operator of a full disk looking for a server that was down). The errors are the drivers'
 * own: a real SQLite database that cannot grow, a real PostgreSQL connection refused.
 */

/** The line sendError logs for `thrown`, with the server's logger options, and the answer's status. */
function logLineOf(thrown: unknown): { status?: number; line: { level?: number; msg?: string; errorCode?: string; err?: { errorCode?: string } } } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const request = { log: pino(loggerOptions('info'), stream), routeOptions: { config: {} }, headers: {} } as unknown as FastifyRequest;
  const sent: { status?: number } = {};
  const reply = { header: () => reply, headers: () => reply, type: () => reply, send: () => reply, code: (status: number) => ((sent.status = status), reply) };
  sendError(request, reply as unknown as FastifyReply, thrown);
  return { status: sent.status, line: JSON.parse(lines.join('')) as never };
}

/** The error a real SQLite database gives when it cannot grow (what a full disk gives too). */
function sqliteFullError(): unknown {
  const db = new Database(':memory:');
  try {
    db.exec('CREATE TABLE t (v TEXT)');
    db.pragma('max_page_count = 2');
    db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(100_000));
  } catch (error) {
    return error;
  } finally {
    db.close();
  }
  throw new Error('SQLite accepted a row larger than its database may grow');
}

describe('the log line of a store failure answered 503 (incident)', () => {
  it('tells a full embedded database as a full disk to free, not as a store unreachable', () => {
    const error = sqliteFullError();
    expect((error as { code?: string }).code).toBe('SQLITE_FULL');
    const { status, line } = logLineOf(error);
    expect(status).toBe(503);
    expect(line).toMatchObject({ level: 40, errorCode: 'store_unavailable', err: { errorCode: 'SQLITE_FULL' } });
    expect(line.msg).toMatch(/disk is full; free space/);
    expect(line.msg).not.toMatch(/unreachable/);
  });

  it('tells a PostgreSQL that refuses connections as a store to check, naming the setting', async () => {
    // A port nothing listens on: the connection is refused, as when PostgreSQL is stopped.
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2_000 });
    const error = await client.connect().then(() => undefined, (failure: unknown) => failure);
    await client.end().catch(() => undefined);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    const { status, line } = logLineOf(error);
    expect(status).toBe(503);
    expect(line.msg).toMatch(/did not answer: check that it runs/);
    expect(line.msg).toContain('PAIRGATE_DATABASE_URL');
  });
});
