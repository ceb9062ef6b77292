import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationIdOf } from '../../src/server/openapi-responses.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';

/**
 * Every operation of the OpenAPI document at /docs has an operationId, unique in the document and
 * made from its method and path, so a generated client's method names are stable from one version
 * to the next (without them generators made names up, and `/access` beside `/access/` got `_1`).
 */
describe('operationIds in the OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: 'support-password' });
  });
  afterAll(() => t.close());

  it('every operation has one, and no two share one', async () => {
    const doc = (await t.app.inject('/docs/json')).json() as { paths: Record<string, Record<string, { operationId?: string }>> };
    const ids: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z0-9]+$/);
        ids.push(operation.operationId!);
      }
    }
    expect(ids.length).toBeGreaterThan(50);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(doc.paths['/api/v1/grants/{id}/events']!.get!.operationId).toBe('getApiV1GrantsByIdEvents');
  });

  it('says what the routes answer: the relay\'s redirect, the agent file in plain text, introspection behind a Bearer secret', async () => {
    const doc = (await t.app.inject('/docs/json')).json() as { paths: Record<string, Record<string, { security?: unknown; responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }> }>> };
    expect(doc.paths['/relay/pairing/{code}']!.get!.responses['302']!.headers).toHaveProperty('location');
    expect(Object.keys(doc.paths['/config/{ref}']!.get!.responses['200']!.content!)).toEqual(['text/plain']);
    for (const path of ['/oauth/introspect', '/access/introspect']) expect(doc.paths[path]!.post!.security, path).toEqual([{ bearerSecret: [] }]);
    // Every 429 and 503 says when to try again, a route's own included (the code look-up's budget).
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const status of ['429', '503']) {
          const answer = operation.responses[status];
          if (answer) expect(answer.headers, `${method} ${path} ${status}`).toHaveProperty('retry-after');
        }
      }
    }
    // The person's own APIs take the session cookie of the pages.
    const cookie = [{ sessionCookie: [] }];
    expect(doc.paths['/api/v1/accesses']!.get!.security).toEqual(cookie);
    expect(doc.paths['/api/v1/device/tokens/{id}']!.delete!.security).toEqual(cookie);
    expect(doc.paths['/api/v1/organizations']!.post!.security).toEqual(cookie);
    expect(doc.paths['/api/v1/integrations/mattermost/setup']!.post!.security).toEqual(cookie);
  });

  it('are made from the method and the path', () => {
    expect(operationIdOf('POST', '/api/v1/grants')).toBe('postApiV1Grants');
    expect(operationIdOf('GET', '/.well-known/oauth-authorization-server')).toBe('getWellKnownOauthAuthorizationServer');
    expect(operationIdOf('POST', '/access')).toBe('postAccess');
    expect(operationIdOf('POST', '/access/')).toBe('postAccessSlash');
    expect(operationIdOf('DELETE', '/api/v1/device/clients/:clientId')).toBe('deleteApiV1DeviceClientsByClientId');
    expect(operationIdOf('GET', '/v1/dns/*')).toBe('getV1DnsAny');
  });
});
