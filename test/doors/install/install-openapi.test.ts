import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { INSTALL_ENV } from './install-helpers.js';

/**
 * The OpenAPI document's summaries of the install door name each connector as the English pages
 * do (`Connector.pageNames`): "Signed webhook", a display name, reads wrong mid-sentence.
 */
describe('install door in the OpenAPI document', () => {
  let t: TestApp;
  let doc: any;
  beforeAll(async () => {
    t = await createTestApp(INSTALL_ENV);
    doc = (await t.app.inject('/docs/json')).json();
  });
  afterAll(() => t.close());

  const summary = (path: string): string => doc.paths[path].post.summary;

  it('the setup and link token routes of each connector read right', () => {
    expect(summary('/api/v1/integrations/webhook/setup')).toBe('Set up a signed webhook for your organization (admin): a new installation and its secret, shown once; an earlier one stops working.');
    expect(summary('/api/v1/integrations/mattermost/setup')).toBe('Set up Mattermost for your organization (admin): a new installation and its secret, shown once; an earlier one stops working.');
    expect(summary('/api/v1/integrations/webhook/link-tokens')).toBe('A one-time token (member) to link your account in your chat (signed webhook), valid for a few minutes; only once pairgate is installed in it for the organization.');
    expect(summary('/api/v1/integrations/mattermost/link-tokens')).toBe('A one-time token (member) to link your account in your chat (Mattermost), valid for a few minutes; only once pairgate is installed in it for the organization.');
    expect(summary('/integrations/orgs/{org}/webhook/setup')).toBe('Set up a signed webhook (form, admin): shows the secret once.');
    expect(summary('/integrations/orgs/{org}/mattermost/setup')).toBe('Set up Mattermost (form, admin): shows the secret once.');
    expect(summary('/integrations/orgs/{org}/webhook/link-token')).toBe('Make a one-time signed webhook link token (form, member).');
    expect(summary('/integrations/orgs/{org}/mattermost/link-token')).toBe('Make a one-time Mattermost link token (form, member).');
  });

  it('no summary of the install door has the display name "Signed webhook" but at its start', () => {
    const summaries = Object.values<any>(doc.paths).flatMap((operations) => Object.values<any>(operations)).map((operation) => operation.summary as string | undefined);
    const webhookOnes = summaries.filter((text) => text && /webhook/i.test(text));
    expect(webhookOnes.length).toBeGreaterThan(4);
    for (const text of webhookOnes) expect(text!.slice(1), text).not.toContain('Signed webhook');
  });
});
