import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../helpers/app.js';
import { json, postJson, startRelay } from './helpers.js';

/** Publishes `url` on `relay`; its answer's status and body. */
async function publish(relay: TestApp, url: string): Promise<{ status: number; body: { code?: string; success?: boolean } }> {
  const answer = await postJson(`${relay.url}/pairing/`, { url });
  return { status: answer.status, body: await json(answer) };
}

/** Where the relay sends a browser that opens `code` (its 302's Location). */
async function redirectOf(relay: TestApp, code: string): Promise<string | null> {
  const answer = await fetch(`${relay.url}/pairing/${code}`, { redirect: 'manual' });
  await answer.body?.cancel();
  expect(answer.status).toBe(302);
  return answer.headers.get('location');
}

/**
 * Loopback's and a network's addresses in the spellings a browser reads as them: the WHATWG URL
 * parser turns numeric IPv4 forms into dotted decimal and IPv6 into its short form, a trailing dot
 * is the same name, and the names hosts files give to loopback.
 */
const INTERNAL_HOSTS = [
  '127.0.0.1', 'localhost', 'localhost.', 'LOCALHOST', '%6c%6fcalhost', 'ｌｏｃａｌｈｏｓｔ', 'foo.localhost.',
  '0x7f.1', '0x7f000001', '2130706433', '0177.0.0.1', '127.1', '127.0.0.1.', '0',
  '[::1]', '[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]', '[::127.0.0.1]', '[64:ff9b::7f00:1]',
  '10.1', '192.168.1.1', '0xa9fea9fe', '169.254.169.254', '[fe80::1]', '[fd00::1]',
  // Fedora's and RHEL's hosts file maps these to loopback; they were taken as public names.
  'localhost.localdomain', 'LOCALHOST.LOCALDOMAIN.', 'localhost4.localdomain4', 'localhost6.localdomain6',
  // Home routers' and company networks' own suffixes, which no registry delegates.
  'router.lan', 'ROUTER.LAN.', 'nas.home', 'wiki.corp', 'webmail.mail', 'portal.intranet', 'box.private',
];

/**
 * A relay open to anyone that takes https origins only (the default) is one for the internet: no
 * code of it may send a person's browser (its 302) into their own machine or network, however the
 * origin's URL spells the host. Each spelling is published over HTTP on a real relay.
 */
describe('an open https relay refuses every spelling of an address inside a network', () => {
  let relay: TestApp;
  beforeAll(async () => {
    relay = await startRelay({ PAIRGATE_RELAY_ALLOW_HTTP: 'false' });
  });
  afterAll(() => relay?.close());

  for (const host of INTERNAL_HOSTS) {
    it(`https://${host}:8443/pairing: 403 origin_internal_address, no code`, async () => {
      const refused = await publish(relay, `https://${host}:8443/pairing`);
      expect(refused).toMatchObject({ status: 403, body: { success: false, code: 'origin_internal_address' } });
      expect(refused.body).not.toHaveProperty('pairing_url');
    });
  }

  it('http:// is refused first (url_not_https), whatever the host', async () => {
    for (const host of ['127.0.0.1', 'localhost.', '0x7f.1', '[::ffff:127.0.0.1]', '2130706433']) {
      expect(await publish(relay, `http://${host}/pairing`), host).toMatchObject({ status: 400, body: { code: 'url_not_https' } });
    }
  });

  it('a public origin gets a code that redirects to it; a name under a public domain is not resolved', async () => {
    for (const url of ['https://origin.example/pairing', 'https://localhost.example.com/pairing', 'https://lan.example.com/pairing', 'https://[2606:4700:4700::1111]/pairing']) {
      const published = await publish(relay, url);
      expect(published.status, url).toBe(200);
      expect(await redirectOf(relay, published.body.code!)).toBe(`${url}/${published.body.code}`);
    }
  });
});

/**
 * PAIRGATE_RELAY_ALLOW_HTTP=true is the local set-up of docs/support.md: an origin on this machine
 * (`http://127.0.0.1:8080`) publishes on its own relay, and every test suite runs so. There the
 * relay takes addresses inside a network, written any way, and redirects to the URL as a browser
 * reads it.
 */
describe('a relay with PAIRGATE_RELAY_ALLOW_HTTP=true (the local set-up) takes a local origin', () => {
  let relay: TestApp;
  let origin: Server;
  let port = 0;
  beforeAll(async () => {
    relay = await startRelay({ PAIRGATE_RELAY_ALLOW_HTTP: 'true' });
    origin = createServer((request, response) => response.end(`origin saw ${request.url}`));
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    port = (origin.address() as { port: number }).port;
  });
  afterAll(async () => {
    await relay?.close();
    await new Promise((resolve) => origin?.close(resolve));
  });

  it('redirects to the canonical form of the address, which reaches the origin', async () => {
    for (const host of ['127.0.0.1', '0x7f.1', '2130706433', '127.1']) {
      const published = await publish(relay, `http://${host}:${port}/pairing`);
      expect(published.status, host).toBe(200);
      const code = published.body.code!;
      const location = await redirectOf(relay, code);
      expect(location).toBe(`http://127.0.0.1:${port}/pairing/${code}`);
      expect(await (await fetch(location!)).text()).toBe(`origin saw /pairing/${code}`);
    }
  });
});
