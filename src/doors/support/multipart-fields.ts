import type { FastifyInstance, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { InvalidRequestError } from '../../core/errors.js';

/** What a multipart body may hold: fields only, few and short. */
const LIMITS = { files: 0, fields: 20, fieldSize: 4096, parts: 20 };

/** A field as @fastify/multipart hands it (a list when the name came more than once). */
type PartField = { value?: unknown } | { value?: unknown }[];

/**
 * Accepts multipart bodies of fields (the seed's `curl -F`) on the routes of `app`: the fields
 * become the body as `{name: value}` (a name sent twice becomes a list, which the route's schema
 * refuses), a file part is refused (413).
 *
 * @fastify/multipart's own `attachFieldsToBody` lets the parser's errors through as they are: a
 * body that says it is multipart and is not (no boundary, no parts, cut off) threw
 * plain errors, answered 500 and logged as unexpected, for anyone, without credentials. The fields
 * are read here instead, and those errors are a 400 `invalid_multipart`; the plugin's own errors
 * (limits: 413; a field named `__proto__`: 400) keep their status.
 */
export async function acceptMultipartFields(app: FastifyInstance): Promise<void> {
  await app.register(multipart, { limits: LIMITS });
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (!request.isMultipart()) return;
    let fields: Record<string, PartField | undefined> = {};
    try {
      for await (const part of request.parts()) {
        fields = part.fields as typeof fields;
        // No file gets here (files: 0 makes the plugin throw 413), but one must never stall the parse.
        if (part.type === 'file') await part.toBuffer();
      }
    } catch (error) {
      if (typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
      throw new InvalidRequestError('The multipart body is malformed: send form fields (curl -F name=value), JSON or an urlencoded form.', undefined, 'invalid_multipart');
    }
    const body: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(fields)) {
      if (Array.isArray(field)) body[name] = field.map((item) => item.value);
      else if (field?.value !== undefined) body[name] = field.value;
    }
    request.body = body;
  });
}
