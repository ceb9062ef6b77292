import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { quotedRefusal } from '../../../src/doors/support/relay-client.js';
import { ADMIN_AUTH, json, postJson, startOrigin, startRelay } from './helpers.js';

const SESSION = { supporter_name: 'T', supporter_avatar: 'https://img.example/a.png' };

/** A "relay" refusing every publication with 403 and `text`, listening on loopback. */
async function refusingRelay(text: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(403, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ success: false, error: text, code: 'origin_not_welcome' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('the origin quoting a relay\'s refusal', () => {
  it('quotes a refusal of a few hundred characters whole, advice and all (it was cut at 200, mid-word)', async () => {
    const advice = 'Ask the operator of the relay to add your host to its list of origins, or use the relay of your own server.';
    const said = `${'Origins on this host may not publish here, as the relay\'s rules say for every host it does not know. '.repeat(2)}${advice}`;
    expect(said.length).toBeGreaterThan(200);
    const relay = await refusingRelay(said);
    const origin = await startOrigin(relay.url);
    try {
      const refused = await postJson(`${origin.url}/session`, SESSION, { authorization: ADMIN_AUTH });
      expect(refused.status).toBe(502);
      expect((await json(refused)).Description).toContain(`(HTTP 403: ${said}); no session was created.`);
    } finally {
      await origin.close();
      await relay.close();
    }
  });

  it('cuts a longer one at a sentence (or word) boundary, marked with "…"', () => {
    const sentence = 'This relay takes no origin it does not know about. ';
    const cut = quotedRefusal(sentence.repeat(30));
    expect(cut.length).toBeLessThanOrEqual(602);
    expect(cut.endsWith('about. …')).toBe(true);
    const words = quotedRefusal('word '.repeat(300).trim());
    expect(words).toMatch(/ word…$/);
    expect(words.length).toBeLessThanOrEqual(601);
    expect(quotedRefusal('short')).toBe('short');
  });

  it('origin_internal_address (a public URL inside a network) comes with what to change on either side', async () => {
    // An https-only relay without an allow-list, and an origin whose public URL is on loopback.
    const relay = await startRelay({ PAIRGATE_RELAY_ALLOW_HTTP: 'false' });
    const origin = await startOrigin(relay.url, { PAIRGATE_PUBLIC_URL: 'https://127.0.0.1:9' });
    try {
      const refused = await postJson(`${origin.url}/session`, SESSION, { authorization: ADMIN_AUTH });
      expect(refused.status).toBe(502);
      const description = (await json(refused)).Description as string;
      expect(description).toMatch(/HTTP 403: Origins on 127\.0\.0\.1:9 may not publish on this relay: .*List it in PAIRGATE_RELAY_ALLOWED_HOSTS to allow it\.\); no session was created\./);
      expect(description).toMatch(/set PAIRGATE_PUBLIC_URL on this server to the public https URL .*PAIRGATE_RELAY_ALLOWED_HOSTS .*PAIRGATE_RELAY_ALLOW_HTTP=true/);
    } finally {
      await origin.close();
      await relay.close();
    }
  });
});
