import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PairgateError } from '../../core/errors.js';
import { addJsonContentTypeParser, type JsonBodyParser } from '../../server/json-body.js';

/** The media type a request names (without parameters, bounded), for a refusal that says what came. */
function contentTypeOf(request: FastifyRequest): string {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().slice(0, 100);
  return type || 'no content type';
}

/**
 * Makes `scope` read JSON bodies only, with `parseJson` (which may also keep the exact bytes, for a
 * signature), and refuse any other content type with 415
 * `unsupported_media_type` naming the one that came. Without this, the server's form parser reads
 * a form (curl's `-d` without a content type) into an object: the call is then refused for what it
 * lacks (a missing field, a signature that does not match), which hides what is wrong.
 */
export function acceptJsonOnly(
  scope: FastifyInstance,
  bodyLimit: number,
  calls: string,
  parseJson: JsonBodyParser,
): void {
  scope.removeAllContentTypeParsers();
  addJsonContentTypeParser(scope, parseJson, { bodyLimit });
  scope.addContentTypeParser('*', { bodyLimit }, (request, _payload, done) => {
    done(new PairgateError('unsupported_media_type', 415, `${calls} are JSON: send the body with content-type: application/json (this one came as ${contentTypeOf(request)}).`));
  });
}
