import type { InjectOptions } from 'fastify';

/**
 * Hostile requests for every route of the OpenAPI document: no body, malformed JSON, wrong types
 * everywhere, oversized strings, odd path parameters, a foreign content type. Shared by the
 * bad-input sweep (never a 5xx) and the OpenAPI conformance test (never an undocumented status),
 * so both look at the same traffic.
 */

/** Path parameters and query values that have broken servers before (`%E9`: Latin-1's é, not UTF-8). */
export const ODD_PARAMS = ['%00', '%E9', '..%2F..%2Fetc%2Fpasswd', 'x'.repeat(2000), '%F0%9F%92%A9', "'; drop table grants; --", '-1', '0'];
/** Values of every type but the expected one. */
export const WRONG_TYPES = [{}, [], 12, true, null, 'x'.repeat(5000), { $ne: null }, { __proto__: { admin: true } }];

/** One operation of the document: a method, a path template and the names of its JSON body's fields. */
export interface Operation {
  method: string;
  path: string;
  bodyProperties: string[];
}

/** The subset of an OpenAPI document these helpers read. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }; responses?: Record<string, unknown> }>>;
}

/** Every operation of `doc` with an HTTP method the sweeps send. */
export function operations(doc: OpenApiDocument): Operation[] {
  const found: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, spec] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const schema = spec.requestBody?.content?.['application/json']?.schema;
      found.push({ method: method.toUpperCase(), path, bodyProperties: Object.keys(schema?.properties ?? {}) });
    }
  }
  return found;
}

/** Page forms hidden from the API document, or listed without a JSON body: swept too. */
export const PAGE_FORMS = ['/account/signin', '/account/register', '/account/reset', '/account/reset/confirm', '/account/signout', '/account/accesses/{id}/revoke', '/access/auth/signin', '/access/auth/decide', '/relay/go', '/pairing/{code}/confirm'];
/** Fields the page forms read. */
export const PAGE_FORM_FIELDS = ['_csrf', 'username', 'password', 'email', 'key', 'decision', 'token', 'code', 'Decision'];
/** Pages hidden from the API document, or listed: swept with GET. */
export const PAGES = ['/account', '/account/signin', '/account/register', '/account/accesses', '/access/auth', '/boxes', '/relay/', '/', '/relay/go'];

/** The operations of `doc` plus the page forms and pages above. */
export function sweptOperations(doc: OpenApiDocument): Operation[] {
  const ops = operations(doc);
  for (const path of PAGE_FORMS) ops.push({ method: 'POST', path, bodyProperties: PAGE_FORM_FIELDS });
  for (const path of PAGES) ops.push({ method: 'GET', path, bodyProperties: [] });
  return ops;
}

/** `path` with every `{parameter}` replaced by `value`. */
export function fillPath(path: string, value: string): string {
  return path.replace(/\{[^}]+\}/g, value);
}

/**
 * The hostile requests for one operation. `bodyLimit` (the server's PAIRGATE_BODY_LIMIT), when
 * given, adds a body one byte over it to operations that take a body.
 */
export function hostileRequests(op: Operation, options: { bodyLimit?: number } = {}): InjectOptions[] {
  const method = op.method as InjectOptions['method'];
  const requests: InjectOptions[] = [];
  for (const param of ODD_PARAMS) {
    requests.push({ method, url: fillPath(op.path, param) });
    requests.push({ method, url: `${fillPath(op.path, 'abcdefghijklmnopqrstuv')}?key=${param}&lang=${param}&wait=${param}&code=${param}&returnURL=${param}` });
  }
  if (op.method === 'GET' || op.method === 'DELETE') return requests;
  const url = fillPath(op.path, 'abcdefghijklmnopqrstuv');
  requests.push({ method, url });
  requests.push({ method, url, headers: { 'content-type': 'application/json' }, payload: '{"broken": ' });
  requests.push({ method, url, headers: { 'content-type': 'application/json' }, payload: '[]' });
  requests.push({ method, url, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from([0, 1, 2, 255]) });
  requests.push({ method, url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=%ZZ&&=&b' });
  // A multipart field in Latin-1 (no charset declared): refused where multipart is taken, 415 elsewhere.
  requests.push({ method, url, headers: { 'content-type': 'multipart/form-data; boundary=b' }, payload: Buffer.from('--b\r\nContent-Disposition: form-data; name="label"\r\n\r\ncaf\xe9\r\n--b--\r\n', 'latin1') });
  if (options.bodyLimit !== undefined) {
    requests.push({ method, url, headers: { 'content-type': 'application/json' }, payload: `"${'x'.repeat(options.bodyLimit)}"` });
  }
  for (const wrong of WRONG_TYPES) {
    const body = Object.fromEntries(op.bodyProperties.map((name) => [name, wrong]));
    requests.push({ method, url, payload: body as Record<string, unknown> });
  }
  return requests;
}
