import { describe, expect, it } from 'vitest';
import { isStoreRefusal, isStoreUnreachable, redactUrl, storeStartError } from '../../src/store/store-errors.js';

describe('store errors', () => {
  it('redacts the password of a connection URL and nothing else', () => {
    expect(redactUrl('postgres://app:s3cr%40t@db.example:5432/pairgate?sslmode=require')).toBe('postgres://app:***@db.example:5432/pairgate?sslmode=require');
    expect(redactUrl('redis://:s3cret@127.0.0.1:6379/2')).toBe('redis://:***@127.0.0.1:6379/2');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    // Both drivers also read a password from the query string.
    expect(redactUrl('postgres://app@db/pairgate?password=s3cret&sslmode=require&sslpassword=k3y')).toBe('postgres://app@db/pairgate?password=***&sslmode=require&sslpassword=***');
    expect(redactUrl('redis://127.0.0.1:6379/0?password=s3cret')).toBe('redis://127.0.0.1:6379/0?password=***');
    // Unparsable: nothing but the scheme survives.
    expect(redactUrl('postgres://app:s3cret@[bad')).toBe('postgres://(unparsable URL)');
  });

  it('recognises unreachable stores across drivers, and only those', () => {
    expect(isStoreUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isStoreUnreachable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isStoreUnreachable(new Error('Connection terminated unexpectedly'))).toBe(true);
    // PostgreSQL with no connection to spare (max_connections, a role's CONNECTION LIMIT) passes: a 503, not a 500.
    expect(isStoreUnreachable(Object.assign(new Error('sorry, too many clients already'), { code: '53300' }))).toBe(true);
    expect(isStoreUnreachable(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isStoreUnreachable(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isStoreUnreachable(new Error('wrapped', { cause: Object.assign(new Error('y'), { code: 'ECONNRESET' }) }))).toBe(true);
    // SQLite that cannot write now: a full disk, a file system remounted read-only.
    expect(isStoreUnreachable(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(true);
    expect(isStoreUnreachable(Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }))).toBe(true);
    expect(isStoreUnreachable(Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBe(false);
    expect(isStoreUnreachable(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isStoreUnreachable(new TypeError('undefined is not a function'))).toBe(false);
    expect(isStoreUnreachable(undefined)).toBe(false);
  });

  it('names the service, the redacted URL and the key when a store does not answer at start-up', () => {
    const error = storeStartError({ service: 'PostgreSQL', key: 'PAIRGATE_DATABASE_URL', url: 'postgres://u:pw@h:1/db' }, Object.assign(new Error('connect ECONNREFUSED h:1'), { code: 'ECONNREFUSED' }));
    expect(error.message).toBe('cannot use PostgreSQL at postgres://u:***@h:1/db: connect ECONNREFUSED h:1; is PostgreSQL running there? Start it, or correct the host and port in PAIRGATE_DATABASE_URL');
    expect(error.code).toBe('store_unavailable');
    expect(error.status).toBe(503);
  });

  it('tells a refusal (a setting to change) from no answer, in pg and Redis wordings, through a cause', () => {
    const pg = (code: string) => Object.assign(new Error('x'), { code });
    for (const code of ['28P01', '28000', '3D000', '42501']) expect(isStoreRefusal(pg(code))).toBe(true);
    expect(isStoreRefusal(new Error('migration failed', { cause: pg('42501') }))).toBe(true);
    for (const text of ['WRONGPASS invalid username-password pair', 'NOAUTH Authentication required.', 'ERR invalid password', 'ERR DB index is out of range', 'NOPERM this user has no permissions']) {
      expect(isStoreRefusal(new Error(text))).toBe(true);
    }
    // pg asked for TLS by a server without it: a setting, not a server to wait for.
    expect(storeStartError({ service: 'PostgreSQL', key: 'PAIRGATE_DATABASE_URL', url: 'postgres://u@h/db?sslmode=require' }, new Error('The server does not support SSL connections')).message).toBe(
      'PAIRGATE_DATABASE_URL: PostgreSQL at postgres://u@h/db?sslmode=require refused: The server does not support SSL connections; turn TLS on in the server, or take sslmode=require (or ssl=true) out of PAIRGATE_DATABASE_URL',
    );
    expect(isStoreRefusal(pg('ECONNREFUSED'))).toBe(false);
    expect(isStoreRefusal(pg('23505'))).toBe(false);
    const refused = storeStartError({ service: 'Redis', key: 'PAIRGATE_REDIS_URL', url: 'redis://:pw@h:6379/0' }, new Error('WRONGPASS invalid username-password pair or user is disabled.'));
    expect(refused.code).toBe('config_invalid');
    expect(refused.message).toBe('PAIRGATE_REDIS_URL: Redis at redis://:***@h:6379/0 refused: WRONGPASS invalid username-password pair or user is disabled; put a user name and password it accepts in PAIRGATE_REDIS_URL');
  });
});
