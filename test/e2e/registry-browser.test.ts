import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBoxIdentity, type BoxIdentity } from '../../src/doors/registry/box-identity.js';
import { RegistryClient } from '../../src/sdk/registry.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { browserSkipReason } from '../helpers/browser.js';

const skip = browserSkipReason('the browser test of the registry (CORS /ping, boxes page)');

/** A web app on another origin that asks the registry which boxes are on the visitor's network. */
function webApp(registry: string): Promise<{ url: string; server: Server }> {
  const html = '<!doctype html><meta charset="utf-8"><title>finder</title><pre id="out">waiting</pre><script src="/app.js"></script>';
  const js = `fetch(${JSON.stringify(`${registry}/ping`)}).then((r) => r.json()).then((boxes) => { document.getElementById('out').textContent = JSON.stringify(boxes); }, (e) => { document.getElementById('out').textContent = 'error ' + e; });`;
  const server = createServer((req, res) => {
    if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })));
}

describe.skipIf(Boolean(skip))('registry in a real browser', () => {
  let box: BoxIdentity;
  const suite = useBrowserApp(
    {},
    {
      prepare: async (t) => {
        box = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-e2e-box-')), 'box'), { name: 'browser box' });
        await new RegistryClient({ baseUrl: t.url }).announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.5.5:4443', name: 'Living room' });
      },
    },
  );

  it('a web app on another origin reads /ping across origins and sees the box', async () => {
    const app = await webApp(suite.url);
    try {
      const page = await suite.browser.newPage();
      await page.goto(app.url);
      // A string, so the DOM types stay out of this Node project's type check.
      await page.waitForFunction('document.getElementById("out").textContent !== "waiting"', undefined, { timeout: 10_000 });
      const text = await page.textContent('#out');
      const boxes = JSON.parse(text ?? '[]') as { client: string; message: string }[];
      expect(boxes.map((b) => b.client)).toEqual([box.fingerprint]);
      expect(JSON.parse(boxes[0]!.message)).toMatchObject({ local_origin: 'https://192.168.5.5:4443', name: 'Living room' });
      await page.close();
    } finally {
      app.server.close();
    }
  });

  it('the boxes page lists the box with a link and breaks no content security policy', async () => {
    const page = await suite.browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    const response = await page.goto(`${suite.url}/boxes`);
    expect(response?.status()).toBe(200);
    const link = page.getByRole('link', { name: 'Connect (local)' });
    expect(await link.getAttribute('href')).toBe('https://192.168.5.5:4443/');
    expect(await page.textContent('main')).toContain('Living room');
    expect(violations).toEqual([]);
    await page.close();
  });
});
