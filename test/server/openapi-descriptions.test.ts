import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';

interface DocumentedResponse {
  description?: string;
  content?: Record<string, unknown>;
}
type OpenApiDocument = { paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>> };

/** Each response of the document as `METHOD path status` with what it says. */
function responsesOf(doc: OpenApiDocument): Array<{ where: string; status: number; response: DocumentedResponse }> {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).flatMap(([method, operation]) =>
      Object.entries(operation.responses).map(([status, response]) => ({ where: `${method.toUpperCase()} ${path} ${status}`, status: Number(status), response })),
    ),
  );
}

/** A JSON answer: listed by its schema alone, or with application/json among its media types. */
function isJson(response: DocumentedResponse): boolean {
  return response.content === undefined || 'application/json' in response.content;
}

/**
 * What the OpenAPI document says of each answer is what a client's author reads to handle it:
 * swagger's placeholder "Default Response" tells them nothing, and an error that does not name
 * its machine codes leaves them to find the codes by trying. Every door's routes, all on.
 */
describe('the OpenAPI document describes every answer', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: 'support-password' });
    doc = (await t.app.inject('/docs/json')).json() as OpenApiDocument;
  });
  afterAll(() => t.close());

  it('no answer is described as swagger\'s placeholder "Default Response"', () => {
    const placeholders = responsesOf(doc).filter(({ response }) => !response.description || response.description === 'Default Response');
    expect(placeholders.map(({ where }) => where)).toEqual([]);
  });

  // Pryv's wire codes have hyphens (`invalid-access-token`).
  it('every JSON error names its machine codes (in backticks)', () => {
    const unnamed = responsesOf(doc).filter(({ status, response }) => status >= 400 && isJson(response) && !/`[a-z][a-z0-9_-]*`/.test(response.description ?? ''));
    expect(unnamed.map(({ where, response }) => `${where}: ${response.description}`)).toEqual([]);
  });
});
