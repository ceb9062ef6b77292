import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../core/errors.js';
import type { ErrorShape } from '../../server/error-shapes.js';
import { API_SECURITY_HEADERS } from '../../server/security-headers.js';

/** How long a path may be inside a refusal's message (the rest is cut): the message is for people. */
const SHOWN_PATH_LENGTH = 200;

/** A connector's callback prefix and how to tell a caller who reached none of its routes. */
export interface UnknownCalls {
  /** The path prefix the connector's callbacks live under, e.g. `/mattermost`. */
  prefix: string;
  /** The connector's error shape: the chat server shows its text to a person. */
  shape: ErrorShape;
  /** The largest body read (and then dropped) before answering; above it, 413 in the same shape. */
  bodyLimit: number;
  /** What to tell the caller of `method` `path` (bounded, without query), that no route answers. */
  message(method: string, path: string): string;
}

/** The path of `request`, without its query, bounded for a message. */
function shownPath(request: FastifyRequest): string {
  const path = request.url.split('?')[0] ?? '';
  return path.length > SHOWN_PATH_LENGTH ? `${path.slice(0, SHOWN_PATH_LENGTH)}…` : path;
}

/**
 * Answers a method or path that no callback route under `prefix` serves with 404
 * `route_not_found` in the connector's own shape, not pairgate's `{error, message}`: the chat
 * server (Mattermost reads `{type: "error", text}`) then shows the person a sentence instead of
 * a generic failure. The server's not-found handler stays as it is for every other path.
 *
 * Registered as a plugin of its own with `prefix`, which is where Fastify scopes a not-found
 * handler (`<prefix>` and `<prefix>/*`). The routes themselves live elsewhere; this plugin has none.
 * Its body parser reads any content type and drops it, so a wrong path is said before a wrong body
 * (bad JSON, a form) would be.
 */
export async function answerUnknownCalls(app: FastifyInstance, calls: UnknownCalls): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: calls.bodyLimit }, (_request, _body, done) => done(null, undefined));
    // `config` is read by the server's error handler (the shape of every refusal here, a body too
    // large included) and its security headers hook (the machine set, as on the routes), as it is
    // for a route; Fastify passes it to the not-found context though its types do not declare it
    // (an empty preHandler list, which changes nothing, is what lets these options type-check).
    const options = { config: { errorShape: calls.shape, securityHeaders: API_SECURITY_HEADERS }, preHandler: [] };
    scope.setNotFoundHandler(options, async (request) => {
      throw new NotFoundError(calls.message(request.method, shownPath(request)), 'route_not_found');
    });
  }, { prefix: calls.prefix });
}
