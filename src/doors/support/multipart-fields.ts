import type { FastifyInstance, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { InvalidRequestError, PairgateError } from '../../core/errors.js';
import { formBody } from '../../server/request-validation.js';

/** What a multipart body may hold: fields only, few and short. */
const LIMITS = { files: 0, fields: 20, fieldSize: 4096, parts: 20 };

/** How fields are sent, said in the refusals. */
const HOW = 'send each field as text (curl -F name=value), or send JSON or an urlencoded form';

/**
 * The plugin's refusals (English of its own, `fst_` codes, a 406 for a field declared as JSON) in
 * pairgate's words and codes: what was wrong and how to send it.
 */
const PLUGIN_REFUSALS: Record<string, () => PairgateError> = {
  FST_FILES_LIMIT: () => new PairgateError('file_not_accepted', 413, `Files are not accepted here: ${HOW}, not name=@file.`),
  FST_PARTS_LIMIT: () => new PairgateError('too_many_fields', 413, `The form has more than ${LIMITS.parts} fields: send only the fields this request takes.`),
  FST_FIELDS_LIMIT: () => new PairgateError('too_many_fields', 413, `The form has more than ${LIMITS.fields} fields: send only the fields this request takes.`),
  FST_PROTO_VIOLATION: () => new InvalidRequestError('A form field has a name that is not accepted (__proto__ or constructor): send only the fields this request takes.', undefined, 'validation_failed'),
  FST_INVALID_JSON_FIELD_ERROR: () => new InvalidRequestError(`A form field was sent with the type application/json: ${HOW}.`, undefined, 'invalid_multipart'),
};

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
 * are read here instead, and those errors are a 400 `invalid_multipart`; the plugin's own refusals
 * are said in pairgate's words (PLUGIN_REFUSALS: a file or too many fields 413, a field named
 * `__proto__` or declared as JSON 400).
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
      const refusal = PLUGIN_REFUSALS[String((error as { code?: unknown }).code)];
      if (refusal) throw refusal();
      if (typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
      throw new InvalidRequestError('The multipart body is malformed: send form fields (curl -F name=value), JSON or an urlencoded form.', undefined, 'invalid_multipart');
    }
    const body: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(fields)) {
      if (Array.isArray(field)) body[name] = field.map((item) => item.value);
      else if (field?.value !== undefined) body[name] = field.value;
    }
    // Form fields are text: the schema converts them to its types, as for an urlencoded form.
    request.body = formBody(body);
  });
}
