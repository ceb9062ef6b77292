import { describe, expect, it } from 'vitest';
import { schemaErrorFormatter } from '../../src/server/error-handler.js';
import { createTestApp } from '../helpers/app.js';

describe('validation failures', () => {
  it('are formatted as Fastify does, without capturing a stack, and leave the stack limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const error = schemaErrorFormatter([{ instancePath: '/ttl', message: 'must be >= 10' }, { instancePath: '', message: 'must have x' }], 'body');
    expect(error.message).toBe('body/ttl must be >= 10, body must have x');
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('are still answered 400 validation_failed with what is wrong', async () => {
    const t = await createTestApp();
    try {
      const answer = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'x', ttl: 1 } });
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toMatchObject({ error: 'validation_failed', message: expect.stringContaining('body.ttl must be >= 10') });
      // A field that may be a number or null: what is wrong with the number is told, not "must be null".
      const nullable = await t.app.inject({ method: 'POST', url: '/access', payload: { requestingAppId: 'schema-errors-app', requestedPermissions: [{ streamId: 'notes', level: 'read' }], expireAfter: -5 } });
      expect(nullable.statusCode).toBe(400);
      expect(nullable.json().message).toMatch(/expireAfter must be >= 1/);
      const nullableType = await t.app.inject({ method: 'POST', url: '/access', payload: { requestingAppId: 'schema-errors-app', requestedPermissions: [{ streamId: 'notes', level: 'read' }], expireAfter: 'soon' } });
      expect(nullableType.json().message).toMatch(/expireAfter must be integer/);
      // A URL or false, too long: its length is told, not "must be boolean".
      const longUrl = await t.app.inject({ method: 'POST', url: '/access', payload: { requestingAppId: 'schema-errors-app', requestedPermissions: [{ streamId: 'notes', level: 'read' }], returnURL: `https://app.example/${'a'.repeat(2100)}` } });
      expect(longUrl.statusCode).toBe(400);
      expect(longUrl.json().message).toMatch(/returnURL must NOT have more than \d+ characters/);
      // A choice of constants names the choices, not "must be equal to constant".
      const level = await t.app.inject({ method: 'POST', url: '/access', payload: { requestingAppId: 'schema-errors-app', requestedPermissions: [{ streamId: 'notes', level: 'admin' }] } });
      expect(level.statusCode).toBe(400);
      expect(level.json().message).toMatch(/^body\.requestedPermissions\.0\.level must be one of "read", "create-only", "contribute", "manage"\.$/);
      // No body at all (curl -X POST without -d): told so and what to send, not "body must be object".
      for (const url of ['/api/v1/grants', '/access']) {
        const empty = await t.app.inject({ method: 'POST', url });
        expect(empty.statusCode, url).toBe(400);
        expect(empty.body, url).toContain('The request has no body. Send the fields as JSON (content-type: application/json) or as a form.');
      }
      // A body of the wrong shape is still told as such.
      const list = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: [1] });
      expect(list.json().message).toBe('body must be object.');
    } finally {
      await t.close();
    }
  });
});
