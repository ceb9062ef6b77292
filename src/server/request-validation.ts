import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';
import { isQueryNotUtf8, QUERY_NOT_UTF8_MESSAGE } from './query-string.js';
import { schemaText } from './schema-text.js';

/**
 * How request parts are checked against their schemas. The query string, the path's parameters and
 * the headers are text on the wire, and so is every field of a form: their values are converted to
 * the types the schema declares (`?wait=5` is the number 5, a form's `remember=true` the boolean).
 * A JSON body carries its own types, and a value of the wrong type is refused (400
 * `validation_failed`, in the route's error shape), never converted: `{"label": 5}` is not the
 * label "5", `{"ttl": "60"}` not 60, `{"label": ["x"]}` not "x", `{"note": null}` not "".
 *
 * Each body schema is compiled twice, with and without conversion (the converting one when a form
 * first needs it); the body's own value says which applies: a body a form parser made is marked
 * (`formBody`), every other one (JSON, from whichever parser) is checked strictly. A door that
 * parses forms itself marks what it makes.
 */

/** The bodies made from forms (urlencoded, multipart fields): text whose values the schema converts. */
const formBodies = new WeakSet<object>();

/** Marks `body` as made from a form, so its fields are converted to the schema's types; returns it. */
export function formBody<T extends object>(body: T): T {
  formBodies.add(body);
  return body;
}

/** Whether `data` is a body a form parser made (`formBody`). */
export function isFormBody(data: unknown): boolean {
  return typeof data === 'object' && data !== null && formBodies.has(data);
}

type BuildValidator = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;
type AjvServerOptions = Parameters<BuildValidator>[1];
type RouteSchema = { schema: unknown; method: string; url: string; httpPart?: string; contentType?: string };
/** An Ajv validate function, as Fastify calls it. */
type Validate = ((data: unknown, dataCxt?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };

/**
 * A header schema with its property names in lower case, as Node gives headers. Fastify does this
 * itself only with its own compiler; with this one (a custom compiler to Fastify), it is done here,
 * for the schema's own properties (header schemas are flat).
 */
function lowerCaseHeaders(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const { properties, required } = schema as { properties?: unknown; required?: unknown };
  const lowered: Record<string, unknown> = { ...(schema as Record<string, unknown>) };
  if (properties && typeof properties === 'object') {
    lowered.properties = Object.fromEntries(Object.entries(properties).map(([name, value]) => [name.toLowerCase(), value]));
  }
  if (Array.isArray(required)) lowered.required = required.map((name) => (typeof name === 'string' ? name.toLowerCase() : name));
  return lowered;
}

/** The failure a query whose escapes are not UTF-8 is refused with, in Ajv's shape. */
const QUERY_NOT_UTF8_FAILURE = [{ instancePath: '', schemaPath: '#', keyword: 'encoding', params: {}, message: QUERY_NOT_UTF8_MESSAGE }];

/**
 * A query's validator that first refuses a query parseQuery marked (its escapes are not UTF-8),
 * which would otherwise pass as a query with no fields.
 */
function refusingQueriesNotUtf8(check: Validate): Validate {
  const validate: Validate = (data, dataCxt) => {
    if (isQueryNotUtf8(data)) {
      validate.errors = QUERY_NOT_UTF8_FAILURE;
      return false;
    }
    const valid = check(data, dataCxt);
    validate.errors = check.errors;
    return valid;
  };
  validate.schemaEnv = check.schemaEnv;
  return validate;
}

/**
 * Whether `schema` declares a number or an integer anywhere: only then can converting text make a
 * number, so only then does a check need `refusingNonFinite`.
 */
function declaresNumbers(schema: unknown): boolean {
  return /"type":(?:"(?:number|integer)"|\[[^\]]*"(?:number|integer)")/.test(JSON.stringify(schema) ?? '');
}

/** The instance path of a number in `data` that is not finite (text converted), or undefined. */
function nonFinitePath(data: unknown, path = ''): string | undefined {
  if (typeof data === 'number') return Number.isFinite(data) ? undefined : path;
  if (typeof data !== 'object' || data === null) return undefined;
  for (const [key, value] of Object.entries(data)) {
    const found = nonFinitePath(value, `${path}/${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** How a number is written in text pairgate converts: decimal digits, a sign and a fraction at most. */
const DECIMAL_NUMBER = /^-?\d+(?:\.\d+)?$/;

/** The top-level text values of a converted part (flat: a query's, a form's, the headers), by name. */
function textValues(data: unknown): Map<string, unknown> | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  let texts: Map<string, unknown> | undefined;
  for (const [key, value] of Object.entries(data)) {
    // An array is copied: Ajv converts its items in place.
    if (typeof value === 'string' || Array.isArray(value)) (texts ??= new Map()).set(key, Array.isArray(value) ? [...value] : value);
  }
  return texts;
}

/**
 * The instance path of a number in `data` converted from text not written in decimal (`texts`,
 * the values before conversion), or undefined. Ajv converts whatever JavaScript's `Number` reads
 * (`0x10`, `1e3`, ` 5`, `0b1`), so `?since=0x1` was the version 1.
 */
function nonDecimalPath(data: unknown, texts: Map<string, unknown>): string | undefined {
  const converted = data as Record<string, unknown>;
  for (const [key, text] of texts) {
    const value = converted[key];
    const pairs: [unknown, unknown][] = Array.isArray(value) ? value.map((item, i) => [item, Array.isArray(text) ? text[i] : text]) : [[value, text]];
    for (const [number, written] of pairs) {
      if (typeof number === 'number' && typeof written === 'string' && !DECIMAL_NUMBER.test(written)) return `/${key}`;
    }
  }
  return undefined;
}

/**
 * A converting validator that also refuses a number that is not finite, or written other than in
 * decimal. Ajv converts any text JavaScript reads as a number (`Infinity`, `-Infinity`, `1e400`)
 * and then skips `minimum` and `maximum` for a number that is not finite (its `strictNumbers` type
 * check), so such text passed every bound: a grant form's `ttl=-Infinity` reached the store and
 * was a 500. Text in hexadecimal or with an exponent is refused too: a client that sends it has
 * a bug the answer should show. Parts converted from text are flat (a form's fields, a query's,
 * the headers), so the walks are short.
 */
function refusingNonFinite(check: Validate): Validate {
  const validate: Validate = (data, dataCxt) => {
    const texts = textValues(data);
    const valid = check(data, dataCxt);
    validate.errors = check.errors;
    if (!valid) return valid;
    const path = nonFinitePath(data);
    if (path !== undefined) {
      validate.errors = [{ instancePath: path, schemaPath: '#', keyword: 'type', params: { type: 'number' }, message: 'must be a finite number' }];
      return false;
    }
    const written = texts && nonDecimalPath(data, texts);
    if (written === undefined) return valid;
    validate.errors = [{ instancePath: written, schemaPath: '#', keyword: 'type', params: { type: 'number' }, message: 'must be a number written in decimal digits' }];
    return false;
  };
  validate.schemaEnv = check.schemaEnv;
  return validate;
}

/**
 * Compiled checks, by request part, compiler options and schema text. Compiling is most of the time
 * an app takes to build (every route's parts, many of them alike: the same path parameters, wait
 * headers, queries), and a compiled check depends on nothing else, so each is made once per process:
 * once per app for `serve`, and once for all the apps a test file builds. Checks are functions of
 * their input alone (Ajv's `errors` is set and read within one call), so routes and apps share
 * them. The schemas are those of the code (and the few a configuration value shapes), so the
 * map stays small.
 */
const compiledChecks = new Map<string, Validate>();

/** One pool of Ajv instances (one per set of options and shared schemas) for every app. */
const pool = AjvCompiler();

/**
 * Fastify's `schemaController`: its own Ajv compiler (@fastify/ajv-compiler, with the server's
 * `ajv` options, conversion included) for every part but the body, and for the body a strict
 * compilation (no conversion) used unless the body came from a form. A query string parseQuery could
 * not decode is refused before its schema is checked. Each check is compiled once per process
 * (`compiledChecks`).
 */
export function requestValidation(): NonNullable<FastifyServerOptions['schemaController']> {
  const buildValidator = (externalSchemas: Parameters<BuildValidator>[0], ajvOptions: AjvServerOptions) => {
    const options = (ajvOptions ?? {}) as { customOptions?: Record<string, unknown> };
    const converting = pool(externalSchemas as never, { ...options, customOptions: { ...options.customOptions } } as never);
    const strict = pool(externalSchemas as never, { ...options, customOptions: { ...options.customOptions, coerceTypes: false } } as never);
    // What the checks compiled here depend on besides the schema (as the pool's own key).
    const compilerKey = `${JSON.stringify(externalSchemas)}${JSON.stringify(options)}`;
    // Converting, and refusing what converts to a number that is not finite where the schema has numbers.
    const convertingFinite = (route: RouteSchema): Validate => {
      const check = converting(route as never) as Validate;
      return declaresNumbers(route.schema) ? refusingNonFinite(check) : check;
    };
    const compile = (route: RouteSchema): Validate => {
      if (route.httpPart === 'headers') return convertingFinite({ ...route, schema: lowerCaseHeaders(route.schema) });
      if (route.httpPart === 'querystring') return refusingQueriesNotUtf8(convertingFinite(route));
      if (route.httpPart !== 'body') return convertingFinite(route);
      const json = strict(route as never) as Validate;
      // A form's compilation waits for the first form: most bodies are only ever sent as JSON.
      let form: Validate | undefined;
      const validate: Validate = (data, dataCxt) => {
        const chosen = isFormBody(data) ? (form ??= convertingFinite(route)) : json;
        const valid = chosen(data, dataCxt);
        validate.errors = chosen.errors;
        return valid;
      };
      // Fastify hands Ajv functions the request as the body's parent (so a conversion can replace
      // the whole body); this one passes it on.
      validate.schemaEnv = json.schemaEnv;
      return validate;
    };
    return (route: RouteSchema): Validate => {
      const text = schemaText(route.schema);
      if (text === undefined) return compile(route);
      // Headers, queries and bodies are each compiled their own way; every other part alike.
      const part = route.httpPart === 'headers' || route.httpPart === 'querystring' || route.httpPart === 'body' ? route.httpPart : 'converted';
      const key = `${part}\n${compilerKey}\n${text}`;
      let check = compiledChecks.get(key);
      if (!check) {
        check = compile(route);
        compiledChecks.set(key, check);
      }
      return check;
    };
  };
  return { compilersFactory: { buildValidator: buildValidator as unknown as BuildValidator } };
}
