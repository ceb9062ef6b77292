import type { Connector } from './connector.js';
import { mattermostConnector } from './mattermost/mattermost-connector.js';
import { webhookConnector } from './webhook/webhook-connector.js';

/** Every chat connector; adding one is its folder and one line here. */
export const allConnectors: readonly Connector[] = [mattermostConnector, webhookConnector];
