import { describe, expect, it } from 'vitest';
import { isStoreUnreachable, redactUrl, unreachableAtStart } from '../../src/store/store-errors.js';

describe('store errors', () => {
  it('redacts the password of a connection URL and nothing else', () => {
    expect(redactUrl('postgres://app:s3cr%40t@db.example:5432/pairgate?sslmode=require')).toBe('postgres://app:***@db.example:5432/pairgate?sslmode=require');
    expect(redactUrl('redis://:s3cret@127.0.0.1:6379/2')).toBe('redis://:***@127.0.0.1:6379/2');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    // Unparsable: nothing but the scheme survives.
    expect(redactUrl('postgres://app:s3cret@[bad')).toBe('postgres://(unparsable URL)');
  });

  it('recognises unreachable stores across drivers, and only those', () => {
    expect(isStoreUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isStoreUnreachable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isStoreUnreachable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStoreUnreachable(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isStoreUnreachable(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isStoreUnreachable(new Error('wrapped', { cause: Object.assign(new Error('y'), { code: 'ECONNRESET' }) }))).toBe(true);
    expect(isStoreUnreachable(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isStoreUnreachable(new TypeError('undefined is not a function'))).toBe(false);
    expect(isStoreUnreachable(undefined)).toBe(false);
  });

  it('names the service and the redacted URL when start-up fails', () => {
    const error = unreachableAtStart('PostgreSQL', 'postgres://u:pw@h:1/db', Object.assign(new Error('connect ECONNREFUSED h:1'), { code: 'ECONNREFUSED' }));
    expect(error.message).toBe('cannot use PostgreSQL at postgres://u:***@h:1/db: connect ECONNREFUSED h:1');
    expect(error.code).toBe('store_unavailable');
    expect(error.status).toBe(503);
  });
});
