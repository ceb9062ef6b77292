import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PAGE_FORM_FIELDS, PAGE_FORMS, PAGES } from '../helpers/hostile-requests.js';
import type { OpenApiSchema as Schema } from '../helpers/openapi-schema.js';

/**
 * Property-based fuzzing of every operation of the server's own OpenAPI document (`/docs/json`),
 * plus the page forms and pages it hides. For each operation, fast-check builds requests from its
 * schema (path and query parameters, headers, a JSON, form or multipart body) and then mutates
 * them: wrong types, missing and extra fields, huge strings, lone surrogates, NUL and RTL
 * overrides, numbers at the limits (`1e309`, `-0`, integers past 2^53), arrays for objects, deep
 * nesting, foreign content types and charsets, odd path parameters (very long, %-escapes that are
 * not UTF-8, `../`), repeated and empty query keys, garbage `Prefer`, `Accept`, `Authorization`
 * and cookies. The project's rule for bad input holds for every answer:
 * - never a 5xx, and an answer at all (within a few seconds);
 * - an error is `no-store` and, in JSON, carries a stable machine code and a message for people in
 *   one of the doors' shapes, the same shape for every error of one route;
 * - nothing is logged as an unexpected error;
 * - the server still answers `/healthz`, and a grant the fuzzer never saw is still there unchanged.
 * Fixed seed, bounded runs: the same requests every time, well under a minute on two cores.
 */

/** The seed of every property: a failure found is found again (`FUZZ_SEED=<n>` explores another). */
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_206);
/** Requests per operation, shrunk only when one fails (`FUZZ_RUNS=<n>` for a longer search: 150 takes a minute). */
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 60);
/** An answer slower than this is a hang (waits are capped at PAIRGATE_WAIT_MAX_SECONDS=1). */
const ANSWER_WITHIN_MS = 8_000;

const PASSWORD = 'correct horse battery staple';
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789-abcdefghijklmnop';
const PLEXUS = { user: 'support', pass: 'fuzz-password' };

/** An operation as the fuzzer reads it off the document. */
interface Operation {
  method: string;
  path: string;
  parameters: { in: string; name: string; required?: boolean; schema?: Schema }[];
  /** Media types of the request body, with their schemas. */
  bodies: Record<string, Schema | undefined>;
  security: string | undefined;
}

/** The document's operations, then the hidden page forms and pages of the bad-input sweep. */
function operationsOf(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, spec] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const content: Record<string, { schema?: Schema }> = spec.requestBody?.content ?? {};
      ops.push({
        method: method.toUpperCase(),
        path,
        parameters: spec.parameters ?? [],
        bodies: Object.fromEntries(Object.entries(content).map(([type, media]) => [type, media.schema])),
        security: Object.keys(spec.security?.[0] ?? {})[0],
      });
    }
  }
  const formSchema: Schema = { type: 'object', properties: Object.fromEntries(PAGE_FORM_FIELDS.map((name) => [name, { type: 'string' }])), required: PAGE_FORM_FIELDS };
  for (const path of PAGE_FORMS) {
    if (!ops.some((op) => op.method === 'POST' && op.path === path)) ops.push({ method: 'POST', path, parameters: pathParameters(path), bodies: { 'application/x-www-form-urlencoded': formSchema }, security: undefined });
  }
  for (const path of PAGES) {
    if (!ops.some((op) => op.method === 'GET' && op.path === path)) ops.push({ method: 'GET', path, parameters: pathParameters(path), bodies: {}, security: undefined });
  }
  return ops;
}

/** The `{name}` parameters of a path template, as string path parameters. */
function pathParameters(path: string): Operation['parameters'] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => ({ in: 'path', name: match[1]!, required: true, schema: { type: 'string' } }));
}

// ---------------------------------------------------------------------------------------------
// Values: what a schema accepts, and what it should refuse.

/** Things the server holds, so that schema-valid values reach past the look-ups into handlers. */
interface Fixtures {
  username: string;
  /** A grant already refused: its id answers, its events end at once. */
  grantId: string;
  /** A pending grant's code (spent by the first approve or refuse that gets through). */
  code: string;
  org: string;
  csrf: string;
}

/** A string `schema` accepts, favouring the fixture a parameter of that name names. */
function sampleString(schema: Schema, name: string, fixtures: Fixtures): string {
  const named: Record<string, string> = {
    username: fixtures.username, login: fixtures.username, email: 'fuzzer@example.test', password: PASSWORD, current: PASSWORD,
    id: fixtures.grantId, code: fixtures.code, org: fixtures.org, org_id: fixtures.org, _csrf: fixtures.csrf, clientId: 'tv-app', client_id: 'tv-app',
    lang: 'fr', decision: 'accept', grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
  };
  const candidates = [
    named[name],
    schema.format === 'email' ? 'fuzzer@example.test' : undefined,
    schema.format === 'uri' || /url$/i.test(name) ? 'https://app.example/return' : undefined,
    'abcdefghijklmnopqrstuv', 'BCDF-GHJK', 'abcdefgh', '12345678',
    ...Array.from({ length: 64 }, (_, n) => 'a'.repeat(n + 1)),
  ];
  const fits = (value: string): boolean =>
    value.length >= (schema.minLength ?? 0) && value.length <= (schema.maxLength ?? Infinity) && (!schema.pattern || new RegExp(schema.pattern, 'u').test(value));
  return candidates.find((value): value is string => value !== undefined && fits(value)) ?? 'a'.repeat(Math.max(1, schema.minLength ?? 1));
}

/** A value `schema` accepts: every declared field (optional ones too, so they are mutated as well). */
function sample(schema: Schema | undefined, name: string, fixtures: Fixtures, depth = 0): unknown {
  if (!schema || depth > 6) return 'a';
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const choice = schema.anyOf ?? schema.oneOf;
  if (choice) return sample(choice.find((option) => option.type !== 'null') ?? choice[0], name, fixtures, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return sampleString(schema, name, fixtures);
    case 'integer':
    case 'number':
      return Math.min(Math.max(schema.minimum ?? 1, 1), schema.maximum ?? Infinity);
    case 'boolean':
      return true;
    case 'array':
      return [sample(schema.items, name, fixtures, depth + 1)];
    case 'object':
    case undefined:
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([field, inner]) => [field, sample(inner, field, fixtures, depth + 1)]));
    default:
      return 'a';
  }
}

/** Nested `depth` deep: `[[[...]]]` or `{"a":{"a":...}}`, as JSON text. */
function deepText(depth: number, kind: 'array' | 'object', inner = '"\\u0041"'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${inner}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
}

/** Strings that have broken servers: control characters, lone surrogates, bidi overrides, look-alikes, injections. */
const EVIL_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udbff\udfff', '\u202eevil.exe', '\u200b', '\ufeff', '\u00ad', 'é', 'e\u0301', '💩', '\uffff',
  '../../etc/passwd', '%00', '%E9', '\r\nX-Injected: 1', '<script>alert(1)</script>', "'; drop table grants; --", '{{7*7}}', '${7*7}',
  '-1', '0', '1e309', 'NaN', 'Infinity', '-0', '0x10', '99999999999999999999999', 'true', 'null', 'undefined', '[object Object]', '__proto__', 'constructor',
];

/** JSON values of every type, at their limits. */
const evilValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), Number.MAX_VALUE, Number.MIN_VALUE, {}, [], [[]], [null], { $ne: null }, { $gt: '' }, ...EVIL_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: 5000 }) },
  { weight: 1, arbitrary: fc.integer().map((n) => n * 1000) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 5 }), { minLength: 0, maxLength: 300 }) },
);

/** Number and other literals JSON.stringify cannot write, put in raw. */
const RAW_LITERALS = ['1e309', '-1e309', '-0', '-0.0', '123456789012345678901234567890', '1E-400', '0.0000000000000000000000001', '1e2', '1.0', 'NaN', 'Infinity', '0x10', '01', '+1', '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\u202e"', deepText(3000, 'array'), deepText(3000, 'object')];

/** Strings of the right type that a handler may still trip over: any code point, long, combining, emoji. */
const edgeString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...EVIL_STRINGS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  fc.constantFrom(199, 200, 201, 255, 256, 1000, 4096).map((n) => 'é'.repeat(n)),
);
/** Numbers of the right type at the limits. */
const edgeNumber: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, -1, 1, 0.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -1e308, 5e-324), fc.integer());

/** One change to a schema-valid JSON body. */
type BodyMutation =
  | { kind: 'none' }
  | { kind: 'typed'; field: number; text: string; number: number; length: number }
  | { kind: 'replace'; field: number; value: unknown }
  | { kind: 'raw'; field: number; literal: string }
  | { kind: 'drop'; field: number }
  | { kind: 'extra'; name: string; value: unknown }
  | { kind: 'whole'; value: unknown }
  | { kind: 'nested'; field: number; depth: number };

const bodyMutation: fc.Arbitrary<BodyMutation> = fc.oneof(
  fc.constant<BodyMutation>({ kind: 'none' }),
  fc.record({ kind: fc.constant('typed' as const), field: fc.nat(), text: edgeString, number: edgeNumber, length: fc.constantFrom(0, 2, 50, 1000) }),
  fc.record({ kind: fc.constant('typed' as const), field: fc.nat(), text: edgeString, number: edgeNumber, length: fc.constantFrom(0, 2, 50, 1000) }),
  fc.record({ kind: fc.constant('replace' as const), field: fc.nat(), value: evilValue }),
  fc.record({ kind: fc.constant('raw' as const), field: fc.nat(), literal: fc.constantFrom(...RAW_LITERALS) }),
  fc.record({ kind: fc.constant('drop' as const), field: fc.nat() }),
  fc.record({ kind: fc.constant('extra' as const), name: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'x', '', '\u0000', '\ud800', 'a'.repeat(3000)), value: evilValue }),
  fc.record({ kind: fc.constant('whole' as const), value: evilValue }),
  fc.record({ kind: fc.constant('nested' as const), field: fc.nat(), depth: fc.constantFrom(100, 1000, 10_000) }),
);

/** A value of `current`'s type from `mutation`: a string, a number, the other boolean, an array or object emptied or grown. */
function sameType(current: unknown, mutation: Extract<BodyMutation, { kind: 'typed' }>): unknown {
  if (typeof current === 'string') return mutation.text;
  if (typeof current === 'number') return mutation.number;
  if (typeof current === 'boolean') return !current;
  if (Array.isArray(current)) return Array.from({ length: mutation.length }, (_, n) => current[n % Math.max(1, current.length)] ?? mutation.text);
  if (current !== null && typeof current === 'object') return mutation.length === 0 ? {} : { ...current, [mutation.text]: mutation.text };
  return current;
}

/** The JSON text of `body` changed by `mutations` (each aimed at a field by its index, modulo the count). */
function mutatedJson(body: unknown, mutations: readonly BodyMutation[]): string {
  const raws: string[] = [];
  let value: unknown = body;
  for (const mutation of mutations) {
    if (mutation.kind === 'whole') {
      value = mutation.value;
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record);
    const field = 'field' in mutation && fields.length > 0 ? fields[mutation.field % fields.length]! : undefined;
    switch (mutation.kind) {
      case 'replace':
        if (field !== undefined) record[field] = mutation.value;
        break;
      case 'typed':
        // The field keeps its type: what passes the schema reaches the handler.
        if (field !== undefined) record[field] = sameType(record[field], mutation);
        break;
      case 'raw':
      case 'nested':
        if (field !== undefined) {
          record[field] = `\u0001raw${raws.length}\u0001`;
          raws.push(mutation.kind === 'raw' ? mutation.literal : deepText(mutation.depth, mutation.depth % 2 ? 'object' : 'array'));
        }
        break;
      case 'drop':
        if (field !== undefined) delete record[field];
        break;
      case 'extra':
        Object.defineProperty(record, mutation.name, { value: mutation.value, enumerable: true, configurable: true, writable: true });
        break;
    }
  }
  let text = JSON.stringify(value) ?? '';
  raws.forEach((raw, n) => {
    text = text.replace(`"\\u0001raw${n}\\u0001"`, raw);
  });
  return text;
}

/** A body as sent: its content type (none when undefined) and bytes. */
interface SentBody {
  contentType?: string;
  contentEncoding?: string;
  payload: string | Buffer;
}

/** JSON texts that are wrong as a whole. */
const BROKEN_JSON = ['', ' ', '{"broken": ', 'null', '[]', '"x"', '0', '{}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '{"a":1,"a":2}', '\ufeff{}', "{'a':1}", '{"a":NaN}', '{"a":undefined}', '\u0000', '{"\\ud800":1}', deepText(30_000, 'array'), deepText(12_000, 'object')];

/** Content types that are not the body's, or are the body's with a foreign charset or odd parameters. */
const ODD_CONTENT_TYPES = [
  'text/plain', 'application/xml', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset="UTF-8"', 'application/json;;;',
  'application/json, text/plain', 'APPLICATION/JSON', 'application/vnd.api+json', 'application/merge-patch+json', 'application/x-www-form-urlencoded; charset=iso-8859-1',
  'multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary=b', ';', '*/*', 'application/octet-stream', 'text/html',
];

/** Form bodies (urlencoded) with odd escapes, repeated and empty keys. */
function formText(fields: Record<string, unknown>, oddity: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) params.append(key, typeof value === 'string' ? value : JSON.stringify(value) ?? '');
  return `${params.toString()}${oddity}`;
}
const FORM_ODDITIES = ['', '&', '&&=&', '&a=%ZZ', '&x=%E9', '&x=%ED%A0%80', '&x=%C0%AF', '&x=%00', '&x[]=1&x[]=2', '&=', '&%=%', '&x=+', `&pad=${'p'.repeat(3000)}`];

/** A multipart body holding `fields`, each field once, and maybe one part that is no field. */
function multipartBody(fields: Record<string, unknown>, extraPart: boolean): SentBody {
  const parts = Object.entries(fields).map(([name, value]) => `--b\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${typeof value === 'string' ? value : JSON.stringify(value)}\r\n`);
  if (extraPart) parts.push('--b\r\nContent-Disposition: form-data; name="file"; filename="../x.txt"\r\nContent-Type: application/octet-stream\r\n\r\n\u0000\u0001\r\n');
  return { contentType: 'multipart/form-data; boundary=b', payload: `${parts.join('')}--b--\r\n` };
}

/** Bodies for an operation: its own media types with mutated schema values, and everything else. */
function bodyArb(op: Operation, fixtures: Fixtures): fc.Arbitrary<SentBody | undefined> {
  const types = Object.keys(op.bodies);
  const schema = op.bodies['application/json'] ?? op.bodies['application/x-www-form-urlencoded'] ?? Object.values(op.bodies)[0];
  const base = (): Record<string, unknown> => {
    const value = sample(schema, '', fixtures);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  };
  const mutations = fc.array(bodyMutation, { minLength: 0, maxLength: 3 });
  const json = fc.record({ mutations, type: fc.constantFrom('application/json', 'application/json; charset=utf-8') }).map(({ mutations, type }): SentBody => ({ contentType: type, payload: mutatedJson(base(), mutations) }));
  const oddType = fc.record({ mutations, type: fc.constantFrom(...ODD_CONTENT_TYPES) }).map(({ mutations, type }): SentBody => ({ contentType: type, payload: mutatedJson(base(), mutations) }));
  const broken = fc.record({ text: fc.constantFrom(...BROKEN_JSON), type: fc.constantFrom('application/json', ...ODD_CONTENT_TYPES) }).map(({ text, type }): SentBody => ({ contentType: type, payload: text }));
  const form = fc.record({ mutations, oddity: fc.constantFrom(...FORM_ODDITIES) }).map(({ mutations, oddity }): SentBody => {
    const fields = JSON.parse(mutatedJson(base(), mutations.filter((m) => m.kind !== 'raw' && m.kind !== 'nested' && m.kind !== 'whole')) || '{}') as Record<string, unknown>;
    return { contentType: 'application/x-www-form-urlencoded', payload: formText(fields ?? {}, oddity) };
  });
  const multipart = fc.record({ mutations, extra: fc.boolean() }).map(({ mutations, extra }) => multipartBody(JSON.parse(mutatedJson(base(), mutations.filter((m) => m.kind === 'replace' || m.kind === 'drop'))) as Record<string, unknown>, extra));
  const bytes = fc.record({ bytes: fc.uint8Array({ maxLength: 300 }), type: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain') }).map(({ bytes, type }): SentBody => ({ contentType: type, payload: Buffer.from(bytes) }));
  // Sent compressed, or declared compressed and not: bodies are read as sent, so both are refused.
  const encoded = json.map((body): SentBody => ({ ...body, contentEncoding: 'gzip' }));
  const noType = json.map((body): SentBody => ({ payload: body.payload }));
  const weighted = (weight: number, arbitrary: fc.Arbitrary<SentBody | undefined>) => ({ weight, arbitrary });
  // Mostly the operation's own media types, so that requests get past the parser into the handler.
  const takesForm = types.includes('application/x-www-form-urlencoded');
  return fc.oneof(
    weighted(types.includes('application/json') ? 8 : 1, json),
    weighted(takesForm ? 4 : 1, form),
    weighted(types.length === 0 ? 8 : 1, fc.constant(undefined)),
    weighted(1, oddType), weighted(1, broken), weighted(1, multipart), weighted(1, bytes), weighted(1, encoded), weighted(1, noType),
  );
}

/** Path parameter values: the fixture, or what should be refused or not found. */
const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('%00', '%E9', '%ED%A0%80', '%C0%AF', '%ZZ', '%', '%2F', '..', '.', '%2e%2e', '..%2F..%2Fetc%2Fpasswd', '%20', '+', '%2B', '~', ';x=1', '%3B', '%23', '%3F', '%5Cx'),
  fc.constantFrom(100, 500, 1000, 5000, 20_000).map((n) => 'x'.repeat(n)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))),
  fc.constantFrom(...EVIL_STRINGS.filter((s) => !/[\ud800-\udfff]/.test(s))).map((s) => encodeURIComponent(s)),
);

/** Query values that should be refused, or ignored. */
const hostileQueryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '%', '%ZZ', '%E9', '%ED%A0%80', '%00', '-1', '-0', '1e309', '1e3', '0x10', 'NaN', '99999999999999999999', '1.5', ' 5', '5 ', '+5', 'true', 'x'.repeat(4000), '%E2%80%AE', 'a%26b%3Dc', 'https%3A%2F%2Fevil.example'),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
);

/** Extra, repeated, array-like and empty keys appended to a query string. */
const QUERY_ODDITIES = ['', '&', '&&&', '&=', '&=x', '&x', '&x[]=1&x[]=2', '&x[a]=1', '&__proto__=1', '&constructor[prototype][x]=1', '&%ZZ=1', '&%E9=1', `&k${'k'.repeat(3000)}=1`, '#frag'];

/** A request's headers beyond the body's: Prefer, Accept, Authorization, cookies, and others. */
function headerArb(fixtures: { cookie: () => string }): fc.Arbitrary<Record<string, string>> {
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
  const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
  return fc.record({
    prefer: optional(fc.oneof(fc.constantFrom('wait=0', 'wait=1', 'wait=-1', 'wait=1e309', 'wait=99999999999999999999', 'wait=NaN', 'wait=', 'wait', 'respond-async, wait=1', 'wait=1;wait=2', 'wait="1"', 'return=minimal', 'wait=0x10', 'wait=1.5'), ascii)),
    accept: optional(fc.oneof(fc.constantFrom('text/html', 'text/html,application/xhtml+xml,*/*;q=0.8', '*/*', 'application/json;q=0', 'text/event-stream', 'image/png', '', ';;', 'text/*;q=x'), ascii)),
    authorization: optional(fc.oneof(
      fc.constantFrom('Bearer', 'Bearer ', 'Bearer x', `Bearer ${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN}x`, 'Basic', 'Basic !!!', `Basic ${Buffer.from(':').toString('base64')}`, `Basic ${Buffer.from(`${PLEXUS.user}:${PLEXUS.pass}`).toString('base64')}`, `Basic ${Buffer.from('\u00ff:\u0000').toString('base64')}`, 'Digest x', `Bearer ${'x'.repeat(8000)}`),
      ascii,
    )),
    cookie: optional(fc.oneof(
      fc.constant('<session>'),
      fc.constantFrom('pg_session=garbage', 'pg_session=', 'pg_session=%E9; pg_csrf=', '===;;;', 'pg_lang=xx', 'pg_lang=fr; pg_lang=en', '__Host-pg_session=x', `pg_session=${'s'.repeat(3000)}`, 'pg_csrf="quoted"'),
      ascii,
    )),
    'accept-language': optional(fc.oneof(fc.constantFrom('fr', 'fr-CA,fr;q=0.9', '*', 'x-klingon;q=2', ';q=', ''), ascii)),
    origin: optional(fc.constantFrom('https://elsewhere.example', 'null', 'http://localhost:80', '')),
    'sec-fetch-site': optional(fc.constantFrom('cross-site', 'same-origin', 'none', 'bogus')),
    'if-none-match': optional(fc.constantFrom('*', '"x"', 'W/"x"', 'garbage')),
    'x-forwarded-for': optional(fc.constantFrom('1.2.3.4', 'garbage', '::1, ::1')),
    'mattermost-app-authorization': optional(fc.constantFrom('Bearer x.y.z', 'Bearer', 'Bearer eyJhbGciOiJub25lIn0.e30.')),
  }).map((headers) => {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      out[name] = name === 'cookie' && value === '<session>' ? fixtures.cookie() : value;
    }
    return out;
  });
}

/** One fuzzed request before it is assembled. */
interface FuzzCase {
  method: string;
  pathValues: string[];
  query: { values: (string | undefined)[]; repeat: boolean[]; oddity: string };
  headers: Record<string, string>;
  body: SentBody | undefined;
}

/** The generator of requests for `op`. */
function caseArb(op: Operation, fixtures: Fixtures, session: { cookie: () => string }): fc.Arbitrary<FuzzCase> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const valid = (p: Operation['parameters'][number]) => String(sample(p.schema, p.name, fixtures));
  return fc.record({
    // Mostly the operation's own method; now and then one it is not served for.
    method: fc.oneof({ weight: 12, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') }),
    pathValues: fc.tuple(...pathParams.map((p) => fc.oneof({ weight: 2, arbitrary: fc.constant(encodeURIComponent(valid(p))) }, { weight: 3, arbitrary: hostileSegment }))),
    query: fc.record({
      values: fc.tuple(...queryParams.map((p) => fc.oneof(fc.constant(undefined), fc.constant(encodeURIComponent(valid(p))), hostileQueryValue))),
      repeat: fc.tuple(...queryParams.map(() => fc.boolean())),
      oddity: fc.constantFrom(...QUERY_ODDITIES),
    }),
    headers: headerArb(session),
    body: bodyArb(op, fixtures),
  }) as fc.Arbitrary<FuzzCase>;
}

/** The request `fuzz` describes for `op`. */
function requestOf(op: Operation, fuzz: FuzzCase): InjectOptions {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  let url = op.path;
  pathParams.forEach((p, n) => {
    url = url.replace(`{${p.name}}`, fuzz.pathValues[n] ?? 'x');
  });
  const query: string[] = [];
  queryParams.forEach((p, n) => {
    const value = fuzz.query.values[n];
    if (value === undefined) return;
    query.push(`${p.name}=${value}`);
    if (fuzz.query.repeat[n]) query.push(`${p.name}=${value}x`);
  });
  const search = `${query.join('&')}${fuzz.query.oddity}`;
  const headers: Record<string, string> = { ...fuzz.headers };
  const request: InjectOptions = { method: fuzz.method as InjectOptions['method'], url: search ? `${url}?${search}` : url, headers };
  if (fuzz.body && fuzz.method !== 'GET' && fuzz.method !== 'HEAD') {
    if (fuzz.body.contentType !== undefined) headers['content-type'] = fuzz.body.contentType;
    if (fuzz.body.contentEncoding !== undefined) headers['content-encoding'] = fuzz.body.contentEncoding;
    request.payload = fuzz.body.payload;
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// What an answer must be.

/** The machine code and message of an error body in any door's shape, and the shape's name. */
function errorOf(body: any): { shape: string; code: unknown; message: unknown } | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  if (body.success === false) return { shape: 'relay', code: body.code, message: body.error ?? body.message };
  if ('Code' in body) return { shape: 'plexus', code: body.Code, message: body.Description };
  if (body.type === 'error') return { shape: 'mattermost', code: body.data?.error, message: body.text };
  if (body.ok === false) return { shape: 'webhook', code: body.error, message: body.text };
  if ('errno' in body) return { shape: 'registry', code: body.reason, message: body.message };
  if (typeof body.id === 'string' && body.error?.id === body.id) return { shape: 'pryv-register', code: body.id, message: body.message };
  if (body.error !== null && typeof body.error === 'object' && 'meta' in body) return { shape: 'pryv-api', code: body.error.id, message: body.error.message };
  if ('error_description' in body) return { shape: 'oauth', code: body.error, message: body.error_description };
  if ('error' in body && 'message' in body) return { shape: 'pairgate', code: body.error, message: body.message };
  return undefined;
}

/** A machine code as the doors publish them: lower-case words joined by underscores (by hyphens in Pryv's, `invalid-access-token`). */
const MACHINE_CODE = /^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/;

/** What is wrong with `response` to `request` (undefined when nothing is). */
function problemWith(response: LightMyRequestResponse, method: string): string | undefined {
  const status = response.statusCode;
  if (status >= 500) return `status ${status}: ${response.body.slice(0, 300)}`;
  if (status < 400) return undefined;
  if (!/no-store/.test(String(response.headers['cache-control'] ?? ''))) return `error ${status} without cache-control no-store`;
  if (method === 'HEAD') return undefined;
  const type = String(response.headers['content-type'] ?? '');
  if (/^text\/html/.test(type)) return /<html/i.test(response.body) ? undefined : `error ${status} as HTML without a page`;
  if (!/^application\/json/.test(type)) return `error ${status} as ${type || 'no content type'}: ${response.body.slice(0, 200)}`;
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return `error ${status} whose body is not JSON: ${response.body.slice(0, 200)}`;
  }
  const error = errorOf(body);
  if (!error) return `error ${status} in no known shape: ${response.body.slice(0, 200)}`;
  if (typeof error.code !== 'string' || !MACHINE_CODE.test(error.code)) return `error ${status} (${error.shape}) without a machine code: ${response.body.slice(0, 200)}`;
  if (typeof error.message !== 'string' || error.message.trim() === '') return `error ${status} (${error.shape}) without a message: ${response.body.slice(0, 200)}`;
  return undefined;
}

/** `request` as one line for a report, long values cut. */
function describeRequest(request: InjectOptions): string {
  const cut = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}...(${text.length})` : text);
  const payload = request.payload === undefined ? '' : ` body=${cut(Buffer.isBuffer(request.payload) ? `<bytes ${request.payload.toString('hex')}>` : JSON.stringify(String(request.payload)))}`;
  return `${request.method} ${cut(String(request.url))} headers=${cut(JSON.stringify(request.headers))}${payload}`;
}

describe('fuzzing every operation of the OpenAPI document', () => {
  let t: TestApp;
  let ops: Operation[];
  let fixtures: Fixtures;
  let sentinel: { id: string; version: unknown };
  let cookie = '';
  let accounts = 0;
  /** The method and route that answered the last request (`onResponse`), '' when no route did. */
  let lastRoute = '';
  /** The shape each route's JSON errors took, with an example. */
  const shapes = new Map<string, Map<string, string>>();
  /** How many answers came back under 400, and the machine codes of the others: the fuzzer reached past the first check. */
  let accepted = 0;
  const codes = new Set<string>();

  const inject = (request: InjectOptions | string): Promise<LightMyRequestResponse> => t.app.inject(request);

  /** Signs in (registering a fresh account when the fuzzer changed the password or deleted the account). */
  const signIn = async (): Promise<void> => {
    const form = await inject('/account/signin');
    const csrf = form.cookies.find((c) => c.name === 'pg_csrf')!.value;
    const post = (path: string, fields: Record<string, string>) => inject({
      method: 'POST', url: path, headers: { cookie: `pg_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
    });
    let signedIn = await post('/account/signin', { login: fixtures.username, password: PASSWORD });
    if (signedIn.statusCode !== 303) {
      fixtures.username = `fuzzer-${++accounts}`;
      signedIn = await post('/account/register', { username: fixtures.username, email: `${fixtures.username}@example.test`, password: PASSWORD });
    }
    expect(signedIn.statusCode).toBe(303);
    cookie = `pg_csrf=${csrf}; pg_session=${signedIn.cookies.find((c) => c.name === 'pg_session')!.value}`;
    fixtures.csrf = csrf;
  };

  beforeAll(async () => {
    t = await createTestApp({
      PAIRGATE_RATE_LIMIT_MAX: '1000000',
      PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '1000000',
      PAIRGATE_CODE_MISSES_PER_HOUR: '1000000',
      PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '1000000',
      PAIRGATE_SIGNIN_FAILURES_PER_IP: '1000000',
      PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE: '1000000',
      PAIRGATE_BRUTE_FORCE_BUDGET: '1',
      PAIRGATE_SCRYPT_COST: '10',
      PAIRGATE_WAIT_MAX_SECONDS: '1',
      PAIRGATE_DEVICE_LONG_POLL_SECONDS: '1',
      PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ 'tv-app': 'Living-room TV' }),
      PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN,
      PAIRGATE_DEVICE_INTROSPECTION_SECRET: ADMIN_TOKEN,
      PLEXUS_AUTH_USER: PLEXUS.user,
      PLEXUS_AUTH_PASS: PLEXUS.pass,
    });
    t.app.addHook('onResponse', (request, _reply, done) => {
      lastRoute = request.routeOptions.url ? `${request.method} ${request.routeOptions.url}` : '';
      done();
    });
    ops = operationsOf((await inject('/docs/json')).json());
    const json = (url: string, body: unknown, headers: Record<string, string> = {}) => inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    // A grant the fuzzer never hears of: it must come through untouched.
    const kept = (await json('/api/v1/grants', { label: 'sentinel' })).json();
    sentinel = { id: kept.id, version: (await inject(`/api/v1/grants/${kept.id}`)).json().version };
    const refused = (await json('/api/v1/grants', { label: 'refused' })).json();
    await json(`/api/v1/codes/${refused.code}/refuse`, {});
    const pending = (await json('/api/v1/grants', { label: 'pending' })).json();
    fixtures = { username: 'fuzzer-0', grantId: refused.id, code: pending.code, org: '', csrf: '' };
    await signIn();
    fixtures.org = (await json('/api/v1/organizations', { name: 'Fuzz' }, { cookie })).json().id;
  });
  afterAll(() => t?.close());

  it('reads the operations of every door', () => {
    expect(ops.length).toBeGreaterThan(90);
    for (const path of ['/api/v1/grants', '/access', '/oauth/token', '/session', '/register', '/relay/pairing', '/mattermost/{id}/install', '/webhook/{id}/command']) {
      expect(ops.map((op) => op.path), path).toContain(path);
    }
  });

  it('answers every mutated request below 500, with a stable code in its door\'s shape, and keeps serving', async () => {
    const failures: string[] = [];
    const errorsLogged = () => t.logs.filter((line) => /"level":(50|60)/.test(line));
    for (const op of ops) {
      await signIn();
      const property = fc.asyncProperty(caseArb(op, fixtures, { cookie: () => cookie }), async (fuzz) => {
        const request = requestOf(op, fuzz);
        const logged = errorsLogged().length;
        lastRoute = '';
        let timer: NodeJS.Timeout | undefined;
        const response = await Promise.race([
          inject(request),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        const problem = problemWith(response, request.method as string);
        if (problem) throw new Error(problem);
        const newErrors = errorsLogged().slice(logged);
        if (newErrors.length > 0) throw new Error(`logged an error: ${newErrors[0]!.slice(0, 400)}`);
        if (response.statusCode < 400) accepted++;
        else if (request.method !== 'HEAD' && /^application\/json/.test(String(response.headers['content-type']))) codes.add(String(errorOf(response.json())!.code));
        // Every JSON error of one route in one shape (what no route answered takes its prefix's). By
        // method too: `POST /ping` is the Mattermost connector's, `GET /ping` the registry's.
        if (response.statusCode >= 400 && request.method !== 'HEAD' && lastRoute && /^application\/json/.test(String(response.headers['content-type']))) {
          const shape = errorOf(response.json())!.shape;
          const seen = shapes.get(lastRoute) ?? new Map<string, string>();
          if (!seen.has(shape)) seen.set(shape, `${describeRequest(request).slice(0, 200)} -> ${response.body.slice(0, 160)}`);
          shapes.set(lastRoute, seen);
        }
      });
      const details = await fc.check(property, { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: false });
      if (details.failed) {
        const fuzz = details.counterexample?.[0] as FuzzCase | undefined;
        const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        failures.push(`${op.method} ${op.path}: ${error}\n    ${fuzz ? describeRequest(requestOf(op, fuzz)) : '?'}`);
      }
      const health = await inject('/healthz');
      if (health.statusCode !== 200) failures.push(`${op.method} ${op.path}: /healthz answered ${health.statusCode} afterwards`);
    }
    expect(failures).toEqual([]);
    const mixed = [...shapes].filter(([, seen]) => seen.size > 1).map(([route, seen]) => `${route}: ${[...seen].map(([shape, example]) => `${shape} (${example})`).join(' | ')}`);
    expect(mixed).toEqual([]);
    expect(accepted).toBeGreaterThan(ops.length);
    expect(codes.size).toBeGreaterThan(40);
    // Nothing stored was lost or changed by what the fuzzer sent.
    const kept = await inject(`/api/v1/grants/${sentinel.id}`);
    expect(kept.statusCode).toBe(200);
    expect(kept.json()).toMatchObject({ state: 'pending', version: sentinel.version });
    expect((await inject('/readyz')).statusCode).toBe(200);
  }, 180_000);
});
