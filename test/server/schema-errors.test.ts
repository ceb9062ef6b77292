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
    } finally {
      await t.close();
    }
  });
});
