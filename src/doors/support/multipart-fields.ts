import type { FastifyInstance, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { InvalidRequestError, PairgateError } from '../../core/errors.js';
import { BodyNotUtf8Error } from '../../server/body-refusals.js';
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

/**
 * Whether every byte of a body, read as it streams, was UTF-8; nothing of it is kept. The multipart
 * parser decodes each field before pairgate sees it (as UTF-8 unless its part declares a charset),
 * putting U+FFFD for bytes that are not, and does not say which charset a part declared: the body's
 * own bytes tell a field that was not UTF-8 from one that holds U+FFFD as sent.
 */
class Utf8Watch {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private valid = true;

  /** Reads the next chunk of the body. */
  readonly push = (chunk: Buffer): void => {
    if (!this.valid) return;
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      this.valid = false;
    }
  };

  /** Whether the whole body was UTF-8 (a character cut off at its end is not). */
  wasUtf8(): boolean {
    if (!this.valid) return false;
    try {
      this.decoder.decode();
    } catch {
      this.valid = false;
    }
    return this.valid;
  }
}

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
 * `__proto__` or declared as JSON 400). A field whose bytes are not UTF-8, in a part that declares
 * no other charset, is a 400 `body_not_utf8`, as a JSON or urlencoded body would be.
 */
export async function acceptMultipartFields(app: FastifyInstance): Promise<void> {
  await app.register(multipart, { limits: LIMITS });
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (!request.isMultipart()) return;
    let fields: Record<string, PartField | undefined> = {};
    let nameless = false;
    const bytes = new Utf8Watch();
    try {
      // The plugin pipes the body to its parser when the first part is asked for, and the body
      // starts to flow on the next tick: a listener added in this same turn reads it all too
      // (added before, it would start the flow early and the parser would miss the first bytes).
      const parts = request.parts()[Symbol.asyncIterator]();
      const first = parts.next();
      request.raw.on('data', bytes.push);
      for (let next = await first; !next.done; next = await parts.next()) {
        const part = next.value;
        fields = part.fields as typeof fields;
        // A part whose Content-Disposition names no field: the plugin files it under "undefined",
        // which the schema then refused as a field of that name. Read on, refused below.
        if (typeof part.fieldname !== 'string' || part.fieldname === '') nameless = true;
        // No file gets here (files: 0 makes the plugin throw 413), but one must never stall the parse.
        if (part.type === 'file') await part.toBuffer();
      }
    } catch (error) {
      const refusal = PLUGIN_REFUSALS[String((error as { code?: unknown }).code)];
      if (refusal) throw refusal();
      if (typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
      throw new InvalidRequestError('The multipart body is malformed: send form fields (curl -F name=value), JSON or an urlencoded form.', undefined, 'invalid_multipart');
    } finally {
      request.raw.off('data', bytes.push);
    }
    if (nameless) throw new InvalidRequestError(`The multipart body has a part without a name (its Content-Disposition gives no name="..."): ${HOW}.`, undefined, 'invalid_multipart');
    const body: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(fields)) {
      if (Array.isArray(field)) body[name] = field.map((item) => item.value);
      else if (field?.value !== undefined) body[name] = field.value;
    }
    // A field read as UTF-8 from bytes that are not came out with U+FFFD in their place: refused,
    // as a JSON or urlencoded body would be, rather than stored with its letters lost. A part that
    // declares Latin-1 is decoded as such and holds no U+FFFD.
    if (Object.values(body).some(holdsReplacement) && !bytes.wasUtf8()) throw new BodyNotUtf8Error('multipart');
    // Form fields are text: the schema converts them to its types, as for an urlencoded form.
    request.body = formBody(body);
  });
}

/** Whether a field's value (or one of its values) holds U+FFFD, what a decoder puts for bytes it cannot read. */
function holdsReplacement(value: unknown): boolean {
  return Array.isArray(value) ? value.some(holdsReplacement) : typeof value === 'string' && value.includes('\uFFFD');
}
