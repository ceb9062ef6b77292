import type { FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';

/**
 * Log options: secrets never reach a log. Requests are logged by route pattern
 * (`/pairing/:code`), not by URL, so codes, keys and tokens in paths and query strings stay out;
 * headers and bodies are not logged, and the paths below are redacted wherever they appear.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.secret',
        '*.token',
        '*.code',
        '*.key',
        '*.jwt_secret',
        '*.access_token',
        '*.refresh_token',
        '*.device_code',
        'headers.authorization',
        'headers.cookie',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(request: FastifyRequest) {
        return {
          method: request.method,
          route: request.routeOptions?.url ?? '(no route)',
          ip: request.ip,
        };
      },
    },
  };
}
