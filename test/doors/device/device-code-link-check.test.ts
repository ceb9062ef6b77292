import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { DEVICE_ENV } from './device-helpers.js';

/** The page's note asking to compare the code, if any, as text. */
function checkNote(html: string): string | undefined {
  return /<p role="note" id="check-code">([^<]*)<\/p>/.exec(html)?.[1];
}

describe('device verification page: a code that came with the link (RFC 8628 §3.3.1)', () => {
  const server = useListeningApp(DEVICE_ENV);

  const startDevice = async () => {
    const response = await fetch(`${server.base}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'tv-app' }) });
    return (await response.json()) as { device_code: string; user_code: string; verification_uri_complete: string };
  };

  it('verification_uri_complete asks the person to check the code against the device\'s before continuing, in their language', async () => {
    const device = await startDevice();
    const page = await new FormClient(server.base).get(device.verification_uri_complete.replace(/^https?:\/\/[^/]+/, ''));
    expect(page.status).toBe(200);
    // A phishing link carries the attacker's code: the person typed nothing, so only comparing it
    // with what their own device shows tells them the request is not theirs.
    expect(checkNote(page.text)).toBe(`This code came with the link you opened. Continue only if your device shows this same code, ${device.user_code}, and you started connecting it just now: if not, close this page.`);
    expect(page.text).toMatch(/<input[^>]*id="user_code"[^>]*aria-describedby="check-code"/);
    // Typed any way (lower case, no dash), it is shown as the device shows it.
    const loose = await new FormClient(server.base).get(`/device?user_code=${device.user_code.replace('-', '').toLowerCase()}&lang=fr`);
    expect(checkNote(loose.text)).toContain(`votre appareil affiche ce même code, ${device.user_code},`);
    // Still nothing decided nor looked up: Continue is the confirmation.
    expect(await server.t.app.pairgate.engine.get(device.device_code.split('.')[0]!)).toMatchObject({ state: 'pending' });
  });

  it('a code the person types, or a link with a code that cannot be one, gets no such note', async () => {
    const bare = await new FormClient(server.base).get('/device');
    expect(checkNote(bare.text)).toBeUndefined();
    expect(bare.text).not.toContain('aria-describedby="check-code"');
    const malformed = await new FormClient(server.base).get('/device?user_code=AEIO-UAEI');
    expect(malformed.status).toBe(200);
    expect(checkNote(malformed.text)).toBeUndefined();
    // Nor is it filled in: the box showed any text a hand-made link carried (up to 100 characters).
    expect(malformed.text).not.toContain('value="AEIO-UAEI"');
    const words = await new FormClient(server.base).get(`/device?user_code=${encodeURIComponent('Call support on 555 0100 first')}`);
    expect(words.status).toBe(200);
    expect(words.text).not.toMatch(/value="Call support/);
  });
});
