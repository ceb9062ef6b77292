import { describe, expect, it } from 'vitest';
import { BadGatewayError, NotFoundError, PairgateError, RateLimitedError, UnavailableError } from '../../src/core/errors.js';

describe('PairgateError', () => {
  it('keeps its code, status and message, and its class name', () => {
    const error = new NotFoundError('No such code.', 'code_not_found');
    expect(error).toBeInstanceOf(PairgateError);
    expect(error).toMatchObject({ code: 'code_not_found', status: 404, message: 'No such code.', name: 'NotFoundError' });
  });

  it('captures no stack for a client error (refused guesses are many, their stacks never read), but does for a server error', () => {
    const limit = Error.stackTraceLimit;
    const clientError = new RateLimitedError(30);
    expect(clientError.stack?.split('\n')).toHaveLength(1);
    expect(new BadGatewayError('relay down').stack).toMatch(/\n\s+at /);
    expect(new UnavailableError('store down', 'store_unavailable').stack).toMatch(/\n\s+at /);
    // The process-wide limit is left as it was.
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('plain').stack).toMatch(/\n\s+at /);
  });
});
