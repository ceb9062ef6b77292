import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { integrationsHomeLink } from '../../../src/doors/install/install-door.js';
import { allConnectors } from '../../../src/doors/install/connectors.js';
import { mattermostConnector } from '../../../src/doors/install/mattermost/mattermost-connector.js';
import { webhookConnector } from '../../../src/doors/install/webhook/webhook-connector.js';

describe('install door: the home page\'s link names every connector it serves', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  /** The home page's HTML in `lang`. */
  const home = async (lang: string) => {
    const response = await t.app.inject({ method: 'GET', url: `/?lang=${lang}` });
    expect(response.statusCode).toBe(200);
    return response.body;
  };

  it('Mattermost and the signed webhook, both served, in English and in French', async () => {
    expect(allConnectors).toEqual([mattermostConnector, webhookConnector]);
    const english = await home('en');
    expect(english).toContain('Organizations: set up Mattermost or a signed webhook, and link your chat account to pairgate.');
    expect(english).not.toContain('set up Mattermost,');
    const french = await home('fr');
    expect(french).toContain('Organisations\u00a0: configurez Mattermost ou un webhook signé, et liez votre compte de messagerie à pairgate.');
    expect(french).not.toContain('installez Mattermost,');
  });

  it('the words follow the list of connectors: one alone is named alone, three are listed', () => {
    expect(integrationsHomeLink([webhookConnector]).text).toBe('Organizations: set up a signed webhook, and link your chat account to pairgate.');
    const slack = { ...webhookConnector, name: 'slack', pageNames: { en: { name: 'Slack', object: 'Slack' }, fr: { name: 'Slack', object: 'Slack' } } };
    expect(integrationsHomeLink([mattermostConnector, webhookConnector, slack]).text).toBe('Organizations: set up Mattermost, a signed webhook, or Slack, and link your chat account to pairgate.');
    expect(integrationsHomeLink([mattermostConnector, webhookConnector, slack]).translations?.fr?.text).toBe('Organisations : configurez Mattermost, un webhook signé ou Slack, et liez votre compte de messagerie à pairgate.');
    expect(integrationsHomeLink([mattermostConnector]).translations?.fr?.text).toBe('Organisations : configurez Mattermost, et liez votre compte de messagerie à pairgate.');
  });
});
