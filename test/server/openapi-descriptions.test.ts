import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { errorsWithoutCodes, placeholderAnswers, type OpenApiAnswers } from '../helpers/openapi-descriptions.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';

/**
 * What the OpenAPI document says of each answer is what a client's author reads to handle it:
 * swagger's placeholder "Default Response" tells them nothing, and an error that does not name
 * its machine codes leaves them to find the codes by trying. Every door's routes, all on.
 */
describe('the OpenAPI document describes every answer', () => {
  let t: TestApp;
  let doc: OpenApiAnswers;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: 'support-password' });
    doc = (await t.app.inject('/docs/json')).json() as OpenApiAnswers;
  });
  afterAll(() => t.close());

  it('no answer is described as swagger\'s placeholder "Default Response"', () => {
    expect(placeholderAnswers(doc)).toEqual([]);
  });

  it('every JSON error names its machine codes (in backticks)', () => {
    expect(errorsWithoutCodes(doc)).toEqual([]);
  });

  it('a route\'s own codes at a shared status are added to the shared answer (sharedAnswersAlso)', () => {
    const paths = (doc as unknown as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> }).paths;
    const setup400 = paths['/api/v1/integrations/mattermost/setup']!.post!.responses['400']!.description;
    expect(setup400).toContain('`validation_failed`');
    expect(setup400).toContain('Here also: `org_id_required`');
    expect(paths['/access/{key}']!.get!.responses['400']!.description).toContain('Here also: `invalid_wait`');
    expect(paths['/oauth/token']!.post!.responses['503']!.description).toContain('`grant_busy`');
    expect(paths['/webhook/{id}/command']!.post!.responses['415']!.description).toContain('these calls take JSON only');
    // Only where the route says so.
    expect(paths['/api/v1/grants']!.post!.responses['415']!.description).not.toContain('Here also');
  });

  it('a shared answer in OAuth\'s shape says which `error` a client reads there', () => {
    const token = (doc as unknown as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> }).paths['/oauth/token']!.post!.responses;
    expect(token['413']!.description).toContain('`payload_too_large`');
    expect(token['413']!.description).toContain('In this OAuth answer `error` is `invalid_request`, and the code named here is in `pairgate_error`.');
    expect(token['503']!.description).toContain('`error` is `temporarily_unavailable`');
    // Where the OAuth code is pairgate's own (429 `rate_limited`), nothing is added.
    expect(token['429']!.description).not.toContain('OAuth answer');
  });
});
