import { request } from 'node:https';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { API_SECURITY_HEADERS } from '../../../src/server/security-headers.js';
import type { TestApp } from '../../helpers/app.js';
import { ODD_PARAMS, WRONG_TYPES } from '../../helpers/hostile-requests.js';
import type { OpenApiSchema as Schema } from '../../helpers/openapi-schema.js';
import { createDnsApp, newBox, updateClient, ZONE } from './dns-helpers.js';

/**
 * Property-based fuzzing of the DNS update API, the HTTPS listener of its own with client
 * certificates, in the spirit of test/e2e/fuzz-http.test.ts (which sees only the main server's
 * document). Its operations are read off its own `/docs/json`; for each, fast-check builds
 * requests from the schemas (the record path, the query, the JSON body) and mutates them: wrong
 * types, missing and extra fields, lone surrogates and NUL, numbers JSON.stringify cannot write,
 * deep nesting, oversized bodies, foreign content types, odd path labels and query keys, another
 * method; mostly in one part of a request at a time, so that the rest gets it to the check that
 * reads that part. They go over real mutual TLS, mostly as the box owning the names, now and then
 * as a stranger box or with no certificate. For every answer:
 * - never a 5xx, and an answer within a few seconds;
 * - the machine headers (`cache-control: no-store`, ...) on it;
 * - an error is JSON in the shape its operation documents (pairgate's `{error, message}`; the
 *   registry's `/register` speaks its spec's), with a stable machine code and a message;
 * - a refused request changed no record, and nothing is logged as an unexpected error.
 * Fixed seed, bounded runs: the same requests every time.
 */

/** The seed of every property (`FUZZ_SEED=<n>` explores another). */
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_207);
/** Requests per operation (`FUZZ_RUNS=<n>` for a longer search). */
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 100);
/** An answer slower than this is a hang. */
const ANSWER_WITHIN_MS = 8_000;
/** A machine code: lower-case words joined by underscores. */
const MACHINE_CODE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** An operation of the document, as the fuzzer reads it. */
interface Operation {
  method: string;
  path: string;
  parameters: { in: string; name: string; schema?: Schema }[];
  body: Schema | undefined;
  /** The fields the documented error body of each status requires. */
  errorFields: Record<string, string[]>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, {
    parameters?: Operation['parameters'];
    requestBody?: { content?: Record<string, { schema?: Schema }> };
    responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  }>>;
}

function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, spec]) => ({
    method: method.toUpperCase(),
    path,
    parameters: spec.parameters ?? [],
    body: spec.requestBody?.content?.['application/json']?.schema,
    errorFields: Object.fromEntries(Object.entries(spec.responses ?? {}).map(([status, answer]) => [status, answer.content?.['application/json']?.schema?.required ?? []])),
  })));
}

// ---------------------------------------------------------------------------------------------
// Requests: schema-valid values, then mutated.

/** Who sends a request: the box owning the names, a box owning none of them, or no certificate. */
type Caller = 'owner' | 'stranger' | 'anonymous';

/** What the fuzzer knows of the server's state, so that valid values reach past the look-ups. */
interface Fixtures {
  /** `<fp>/...` paths are the owner's: the zone's labels reversed, then the fingerprint. */
  zonePath: string;
  owner: BoxIdentity;
  /** A box whose records nobody in the fuzz may change. */
  sentinel: BoxIdentity;
}

/** Values that fit a field by its name where the schema alone cannot tell (a record's value, a fingerprint). */
function namedValue(name: string, fixtures: Fixtures): fc.Arbitrary<unknown> | undefined {
  const owned = `${fixtures.owner.fingerprint}.${ZONE}`;
  const named: Record<string, fc.Arbitrary<unknown>> = {
    value: fc.constantFrom('192.0.2.10', '2001:DB8:0::10', `alias.${owned}`, `alias.${owned}.`, 'local', 'hello world', 'v=spf1 -all', `sentinel.${fixtures.sentinel.fingerprint}.${ZONE}`),
    fingerprint: fc.constantFrom(fixtures.owner.fingerprint, fixtures.sentinel.fingerprint),
    client: fc.constantFrom(fixtures.owner.fingerprint, fixtures.sentinel.fingerprint),
    local_origin: fc.constantFrom('https://192.168.1.20', 'http://10.0.0.1:8080'),
    tunnel_origin: fc.constantFrom('https://tunnel.example', null),
    message: fc.constant(JSON.stringify({ local_origin: 'https://192.168.1.20' })),
  };
  return named[name];
}

/** Values `schema` accepts (the value of field `name`). */
function validValue(schema: Schema | undefined, name: string, fixtures: Fixtures, depth = 0): fc.Arbitrary<unknown> {
  const named = namedValue(name, fixtures);
  if (named) return named;
  if (!schema || depth > 5) return fc.constant('a');
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choice = schema.anyOf ?? schema.oneOf;
  if (choice) return fc.oneof(...choice.map((option) => validValue(option, name, fixtures, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -(2 ** 31), max: schema.maximum ?? 2 ** 31 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'object': {
      const fields = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([field, inner]) => [field, validValue(inner, field, fixtures, depth + 1)]));
      return fc.record(fields, { requiredKeys: schema.required ?? [] });
    }
    default:
      return fc.constant('a');
  }
}

/** Strings a handler may trip over. */
const EVIL_STRINGS = ['', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\u202eevil', '\u200b', '\ufeff', 'é', '💩', '..', '-1', '1e309', '__proto__', 'x'.repeat(1001), 'é'.repeat(300), '"quoted"', '\\', '%00'];
/** Literals JSON.stringify cannot write, put in raw in place of a field's value. */
const RAW_LITERALS = ['1e309', '-0', '1.0', '99999999999999999999', '0.1e1', '"\\ud800"', '"\\u0000"', `${'['.repeat(5000)}${']'.repeat(5000)}`];
/** JSON texts wrong as a whole. */
const BROKEN_JSON = ['', ' ', '{"type":', 'null', '[]', '"A"', '{"__proto__":{"x":1}}', '{"type":"A","type":"TXT","value":"1.2.3.4"}', '\ufeff{}', "{'type':'A'}", `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`];

/** One change to a schema-valid body, aimed at a field by index (modulo the count). */
type BodyMutation =
  | { kind: 'replace'; field: number; value: unknown }
  | { kind: 'raw'; field: number; literal: string }
  | { kind: 'drop'; field: number }
  | { kind: 'extra'; name: string; value: unknown };

const bodyMutation: fc.Arbitrary<BodyMutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), field: fc.nat(), value: fc.constantFrom<unknown>(...WRONG_TYPES, ...EVIL_STRINGS, 0, -1, 86_401, 2 ** 53 + 2, 1.5) }),
  fc.record({ kind: fc.constant('raw' as const), field: fc.nat(), literal: fc.constantFrom(...RAW_LITERALS) }),
  fc.record({ kind: fc.constant('drop' as const), field: fc.nat() }),
  fc.record({ kind: fc.constant('extra' as const), name: fc.constantFrom('__proto__', 'constructor', 'x', 'Type', ''), value: fc.constantFrom<unknown>('A', 1, null, { admin: true }) }),
);

/** The JSON text of `body` changed by `mutations`. */
function mutatedJson(body: unknown, mutations: readonly BodyMutation[]): string {
  const record = { ...(body as Record<string, unknown>) };
  const raws: string[] = [];
  for (const mutation of mutations) {
    const fields = Object.keys(record);
    const field = 'field' in mutation && fields.length > 0 ? fields[mutation.field % fields.length]! : undefined;
    if (mutation.kind === 'extra') Object.defineProperty(record, mutation.name, { value: mutation.value, enumerable: true, configurable: true, writable: true });
    else if (field === undefined) continue;
    else if (mutation.kind === 'drop') delete record[field];
    else if (mutation.kind === 'replace') record[field] = mutation.value;
    else {
      record[field] = `\u0001raw${raws.length}\u0001`;
      raws.push(mutation.literal);
    }
  }
  return raws.reduce((text, raw, n) => text.replace(`"\\u0001raw${n}\\u0001"`, raw), JSON.stringify(record));
}

/** A body as sent. */
interface SentBody {
  contentType?: string;
  contentEncoding?: string;
  payload: string;
}

/** A part of a request: as a box sends it, and as the fuzzer does. */
interface Part<T> {
  valid: fc.Arbitrary<T>;
  wild: fc.Arbitrary<T>;
}

/** Bodies for `op`: its schema's values (a record's value mostly of its type), mutated, or wrong as a whole. */
function bodyPart(op: Operation, fixtures: Fixtures): Part<SentBody | undefined> {
  const valueOfType: Record<string, string> = { A: '192.0.2.10', AAAA: '2001:db8::10', CNAME: `alias.${fixtures.owner.fingerprint}.${ZONE}`, TXT: 'hello world' };
  const valid = fc.tuple(validValue(op.body, '', fixtures), fc.constantFrom(true, true, true, false)).map(([value, coherent]) => {
    const body = (value ?? {}) as Record<string, unknown>;
    // Mostly a record's value is one of its type, so that writes get past the checks.
    return coherent && typeof body.type === 'string' && body.type in valueOfType ? { ...body, value: valueOfType[body.type] } : body;
  });
  // Half the bodies unchanged, so that as many get past the schema into the handler.
  const mutations = fc.oneof(fc.constant([]), fc.array(bodyMutation, { minLength: 1, maxLength: 2 }));
  const json = fc.record({ valid, mutations, type: fc.constantFrom('application/json', 'application/json; charset=utf-8') })
    .map(({ valid: body, mutations, type }): SentBody => ({ contentType: type, payload: mutatedJson(body, mutations) }));
  const odd = fc.record({ valid, text: fc.constantFrom(...BROKEN_JSON), whole: fc.boolean(), type: fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b', 'application/octet-stream', ';') })
    .map(({ valid: body, text, whole, type }): SentBody => ({ contentType: type, payload: whole ? text : JSON.stringify(body) }));
  const special = fc.constantFrom<SentBody>(
    { payload: '{"type":"A","value":"192.0.2.1"}' }, // no content type
    { contentType: 'application/json', contentEncoding: 'gzip', payload: '{"type":"A","value":"192.0.2.1"}' },
    { contentType: 'application/json', payload: JSON.stringify({ type: 'TXT', value: 'x'.repeat(9000) }) }, // over the 8 KiB limit
  );
  const asSent = op.body ? valid.map((body): SentBody => ({ contentType: 'application/json', payload: JSON.stringify(body) })) : fc.constant(undefined);
  return { valid: asSent, wild: fc.oneof({ weight: op.body ? 8 : 1, arbitrary: json }, { weight: 2, arbitrary: odd }, { weight: 1, arbitrary: special }, { weight: op.body ? 1 : 6, arbitrary: fc.constant(undefined) }) };
}

/** A string as a request target may hold it: every character outside visible ASCII %-escaped. */
const targetSafe = (text: string): string => text.replace(/[^\u0021-\u007e]/gu, (c) => encodeURIComponent(c.replace(/[\ud800-\udfff]/g, '\ufffd')));

/** The wildcard record path: the owner's names (well-formed or not), another box's, the apex, outside the zone, garbage. */
function recordPathPart(fixtures: Fixtures): Part<string> {
  const own = `${fixtures.zonePath}/${fixtures.owner.fingerprint}`;
  const validLabel = fc.constantFrom('', '/local', '/local/www', '/_acme-challenge', '/txt', '/alias', '/LOCAL', '/x-y', `/${'a'.repeat(63)}`);
  const label = fc.oneof(
    { weight: 8, arbitrary: validLabel },
    fc.constantFrom('/-bad', '/bad_label!', `/${'a'.repeat(64)}`, '//', '/..', '/%2F', '/%ZZ', '/.', `/${'a/'.repeat(150)}`, '/a%00b'),
    fc.constantFrom(...ODD_PARAMS).map((param) => `/${param}`),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((text) => `/${encodeURIComponent(text.replace(/[\ud800-\udfff]/g, ''))}`),
  );
  return {
    valid: validLabel.map((rest) => `${own}${rest}`),
    wild: fc.oneof(
      { weight: 8, arbitrary: label.map((rest) => `${own}${rest}`) },
      { weight: 1, arbitrary: fc.constantFrom(`${fixtures.zonePath}/${fixtures.sentinel.fingerprint}/local`, fixtures.zonePath, `org/example/${fixtures.owner.fingerprint}`, `${fixtures.zonePath.toUpperCase()}/${fixtures.owner.fingerprint}/local`) },
      { weight: 1, arbitrary: fc.constantFrom(...ODD_PARAMS, '', '%E9', '..%2F..', '*') },
    ),
  };
}

/** One fuzzed request before it is assembled. */
interface FuzzCase {
  caller: Caller;
  method: string;
  recordPath: string;
  query: (string | undefined)[];
  queryOddity: string;
  headers: Record<string, string>;
  body: SentBody | undefined;
}

/** Query values: left out, the schema's, or what should be refused. */
function queryValuePart(parameter: Operation['parameters'][number], fixtures: Fixtures): Part<string | undefined> {
  const valid = fc.oneof(fc.constant(undefined), validValue(parameter.schema, parameter.name, fixtures).map((value) => encodeURIComponent(String(value))));
  return { valid, wild: fc.oneof(valid, fc.constantFrom('', 'MX', 'a', 'txt', '%ZZ', '%E9', '%ED%A0%80', '%00', 'x'.repeat(1001), '192.0.2.010', '::ffff:192.0.2.10')) };
}

/** Extra, repeated, misspelt and empty query keys (every route's query is closed). */
const QUERY_ODDITIES = ['&', '&x=1', '&Type=TXT', '&type=A&type=TXT', '&type[]=A', '&__proto__=1', '&value', '&=&', '&%ZZ=1', `&k${'k'.repeat(3000)}=1`];

/**
 * The generator of requests for `op`. Mostly one part of the request is the fuzzer's and the rest
 * as the owner box sends it, so that what is wrong in that part reaches the check (or the handler)
 * that reads it; now and then every part is the fuzzer's, or none.
 */
function caseArb(op: Operation, fixtures: Fixtures): fc.Arbitrary<FuzzCase> {
  const queryParameters = op.parameters.filter((parameter) => parameter.in === 'query');
  const queryValues = queryParameters.map((parameter) => queryValuePart(parameter, fixtures));
  // Mostly absent: each one sent now and then.
  const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
  const parts: { [K in keyof FuzzCase]: Part<FuzzCase[K]> } = {
    caller: { valid: fc.constant<Caller>('owner'), wild: fc.constantFrom<Caller>('owner', 'stranger', 'anonymous') },
    method: { valid: fc.constant(op.method), wild: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
    recordPath: recordPathPart(fixtures),
    query: { valid: fc.tuple(...queryValues.map((part) => part.valid)), wild: fc.tuple(...queryValues.map((part) => part.wild)) },
    queryOddity: { valid: fc.constant(''), wild: fc.constantFrom(...QUERY_ODDITIES) },
    headers: {
      valid: fc.constant({}),
      wild: fc.record({
        accept: optional(fc.constantFrom('text/html', '*/*', 'application/json;q=0', '', ';;')),
        authorization: optional(fc.constantFrom('JWS ..', 'Bearer x', 'Basic !!!', `JWS ${'x'.repeat(3000)}`)),
        host: optional(fc.constantFrom('', 'evil.example', `${'h'.repeat(300)}.example`, '[::1')),
      }).map((headers) => Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Record<string, string>),
    },
    body: bodyPart(op, fixtures),
  };
  const names = Object.keys(parts) as (keyof FuzzCase)[];
  const built = (wild: (name: keyof FuzzCase) => boolean) =>
    fc.record(Object.fromEntries(names.map((name) => [name, wild(name) ? parts[name].wild : parts[name].valid]))) as fc.Arbitrary<FuzzCase>;
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...names).chain((name) => built((part) => part === name)) },
    { weight: 2, arbitrary: built(() => true) },
    { weight: 1, arbitrary: built(() => false) },
  );
}

/** The request target of `fuzz` for `op`. */
function targetOf(op: Operation, fuzz: FuzzCase): string {
  const queryParameters = op.parameters.filter((parameter) => parameter.in === 'query');
  const query = queryParameters.flatMap((parameter, n) => (fuzz.query[n] === undefined ? [] : [`${parameter.name}=${fuzz.query[n]}`]));
  const search = `${query.join('&')}${fuzz.queryOddity}`;
  const path = op.path.replace('{*}', fuzz.recordPath);
  return targetSafe(search ? `${path}?${search}` : path);
}

// ---------------------------------------------------------------------------------------------
// Sending, and what an answer must be.

/** An answer of the listener. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** `fuzz` as one line for a report, long values cut. */
function describeCase(op: Operation, fuzz: FuzzCase): string {
  const cut = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}...(${text.length})` : text);
  return `${fuzz.caller} ${fuzz.method} ${cut(targetOf(op, fuzz))} headers=${JSON.stringify(fuzz.headers).slice(0, 200)} body=${fuzz.body ? `${fuzz.body.contentType ?? '(none)'} ${cut(JSON.stringify(fuzz.body.payload))}` : '(none)'}`;
}

/** An error body in pairgate's shape or the registry's. */
type ErrorBody = Record<string, unknown>;

/** The machine code of an error body: pairgate's `error`, or the registry's `reason` (its `error` is the status text). */
const errorCode = (body: ErrorBody): unknown => ('reason' in body ? body.reason : body.error);

/** What is wrong with `answer` to `method` on `op` (undefined when nothing is). */
function problemWith(op: Operation, method: string, answer: Answer): string | undefined {
  const { status } = answer;
  if (status >= 500) return `status ${status}: ${answer.text.slice(0, 300)}`;
  for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) {
    if (answer.headers[name] !== value) return `status ${status} without the machine header ${name}: ${value} (has ${String(answer.headers[name])})`;
  }
  if (status < 400 || method === 'HEAD') return undefined;
  if (!/^application\/json/.test(String(answer.headers['content-type']))) return `error ${status} as ${String(answer.headers['content-type'])}: ${answer.text.slice(0, 200)}`;
  let body: ErrorBody;
  try {
    body = JSON.parse(answer.text) as ErrorBody;
  } catch {
    return `error ${status} whose body is not JSON: ${answer.text.slice(0, 200)}`;
  }
  // Pairgate's shape, unless the operation documents its protocol's for this status (/register: the registry's).
  const documented = method === op.method ? op.errorFields[String(status)] ?? [] : [];
  const fields = documented.includes('reason') ? documented : ['error', 'message'];
  const missing = fields.filter((field) => !(field in body));
  if (missing.length > 0) return `error ${status} without ${missing.join(', ')}: ${answer.text.slice(0, 200)}`;
  const code = errorCode(body);
  if (typeof code !== 'string' || !MACHINE_CODE.test(code)) return `error ${status} without a machine code: ${answer.text.slice(0, 200)}`;
  if (typeof body.message !== 'string' || body.message.trim() === '') return `error ${status} without a message: ${answer.text.slice(0, 200)}`;
  return undefined;
}

describe('fuzzing every operation of the DNS update API\'s own OpenAPI document', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let ops: Operation[];
  let fixtures: Fixtures;
  let stranger: BoxIdentity;

  /** Sends `fuzz` for `op` over its own TLS connection, as its caller. */
  function send(op: Operation, fuzz: FuzzCase): Promise<Answer> {
    const { hostname, port } = new URL(runtime.updateApi!.url);
    const box = fuzz.caller === 'owner' ? fixtures.owner : fuzz.caller === 'stranger' ? stranger : undefined;
    const body = fuzz.body && fuzz.method !== 'GET' && fuzz.method !== 'HEAD' ? fuzz.body : undefined;
    const headers: Record<string, string> = { ...fuzz.headers };
    if (body?.contentType !== undefined) headers['content-type'] = body.contentType;
    if (body?.contentEncoding !== undefined) headers['content-encoding'] = body.contentEncoding;
    // Framed as a box's client frames it: Node sends a DELETE's or an OPTIONS' body without a
    // length, which is a framing error (update-api-framing.test.ts), not a request to the operation.
    if (body) headers['content-length'] = String(Buffer.byteLength(body.payload));
    return new Promise((resolve, reject) => {
      // The certificate is checked against `servername`, not a Host header the fuzzer sent.
      const req = request({ hostname, port, method: fuzz.method, path: targetOf(op, fuzz), headers, ca: runtime.updateCertPem, servername: 'localhost', agent: false, ...(box ? { key: box.keyPem, cert: box.certPem } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end(body?.payload);
    });
  }

  /** Every record of the three boxes, as stored (values, TTLs, write times). */
  const recordsNow = async (): Promise<string> => JSON.stringify(await Promise.all([fixtures.owner, fixtures.sentinel, stranger].map((box) => runtime.records.ofOwner(box.fingerprint))));

  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATES_PER_MINUTE: '1000000', PAIRGATE_DNS_MAX_RECORDS_PER_IP: '1000000', PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '1000000' }));
    fixtures = { zonePath: ZONE.split('.').reverse().join('/'), owner: await newBox('owner'), sentinel: await newBox('sentinel') };
    stranger = await newBox('stranger');
    const docs = await send({ method: 'GET', path: '/docs/json', parameters: [], body: undefined, errorFields: {} }, { caller: 'anonymous', method: 'GET', recordPath: '', query: [], queryOddity: '', headers: {}, body: undefined });
    ops = operationsOf(JSON.parse(docs.text) as OpenApiDocument);
    const owner = updateClient(runtime, fixtures.owner);
    await owner.set(`local.${fixtures.owner.fingerprint}.${ZONE}`, 'A', '192.0.2.1');
    await owner.set(`txt.${fixtures.owner.fingerprint}.${ZONE}`, 'TXT', 'kept');
    const sentinel = updateClient(runtime, fixtures.sentinel);
    await sentinel.set(`local.${fixtures.sentinel.fingerprint}.${ZONE}`, 'A', '192.0.2.99');
    await sentinel.set(`sentinel.${fixtures.sentinel.fingerprint}.${ZONE}`, 'TXT', 'untouched');
  });
  afterAll(() => t?.close());

  it('reads the record operations off the listener\'s own document', () => {
    expect(ops.map((op) => `${op.method} ${op.path}`)).toEqual(expect.arrayContaining(['GET /v1/dns/{*}', 'POST /v1/dns/{*}', 'DELETE /v1/dns/{*}']));
  });

  it('answers every mutated request below 500, with the machine headers, errors in their documented shape, and no record changed by a refusal', async () => {
    const sentinelBefore = JSON.stringify(await runtime.records.ofOwner(fixtures.sentinel.fingerprint));
    const errorsLogged = () => t.logs.filter((line) => /"level":(50|60)/.test(line));
    const failures: string[] = [];
    let accepted = 0;
    const codes = new Set<string>();
    for (const op of ops) {
      const property = fc.asyncProperty(caseArb(op, fixtures), async (fuzz) => {
        const logged = errorsLogged().length;
        const before = await recordsNow();
        const answer = await send(op, fuzz);
        const problem = problemWith(op, fuzz.method, answer);
        if (problem) throw new Error(problem);
        if (answer.status >= 400 && (await recordsNow()) !== before) throw new Error(`refused with ${answer.status} but records changed: ${answer.text.slice(0, 200)}`);
        const newErrors = errorsLogged().slice(logged);
        if (newErrors.length > 0) throw new Error(`logged an error: ${newErrors[0]!.slice(0, 4000)}`);
        if (answer.status < 400) accepted++;
        else if (fuzz.method !== 'HEAD') codes.add(String(errorCode(JSON.parse(answer.text) as ErrorBody)));
      });
      const details = await fc.check(property, { seed: SEED, numRuns: RUNS_PER_OPERATION, interruptAfterTimeLimit: 20_000 });
      if (details.failed) {
        const fuzz = details.counterexample?.[0];
        const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        failures.push(`${op.method} ${op.path}: ${error}\n    ${fuzz ? describeCase(op, fuzz) : '?'}`);
      }
    }
    expect(failures).toEqual([]);
    // The fuzzer reached past the first checks: writes and deletes went through, and many refusals were told apart.
    expect(accepted).toBeGreaterThan(ops.length * 5);
    expect(codes.size).toBeGreaterThan(10);
    expect(JSON.stringify(await runtime.records.ofOwner(fixtures.sentinel.fingerprint))).toBe(sentinelBefore);
  }, 90_000);
});
