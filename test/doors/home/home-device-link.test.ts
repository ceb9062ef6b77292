import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { ADMIN_TOKEN, adminCall } from '../device/device-helpers.js';

/** The home page's text over a real socket. */
async function home(base: string): Promise<string> {
  const response = await fetch(`${base}/`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('home page: /device is offered once a device client exists, configured or registered through the admin API', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('no client: no link; one registered through the API: the link, at once; deleted: gone again', async () => {
    expect(await home(base)).not.toContain('Connect a device');
    expect((await adminCall(base, 'PUT', '/hall-tv', { name: 'Hall TV' })).status).toBe(201);
    const page = await home(base);
    expect(page).toContain('Connect a device');
    expect(page).toContain('href="/device"');
    expect((await fetch(`${base}/device`)).status).toBe(200);
    expect((await adminCall(base, 'DELETE', '/hall-tv')).status).toBe(204);
    expect(await home(base)).not.toContain('Connect a device');
  });

  it('a configured client is enough; a device door that is off is never offered', async () => {
    const configured = await createTestApp({ PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ tv: 'TV' }) });
    const off = await createTestApp({ PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ tv: 'TV' }), PAIRGATE_DEVICE_ENABLED: 'false' });
    try {
      expect(await home(await configured.listen())).toContain('Connect a device');
      const offHome = await home(await off.listen());
      expect(offHome).not.toContain('Connect a device');
      expect(offHome).toContain('Your account');
    } finally {
      await configured.close();
      await off.close();
    }
  });
});

describe('home page: each serving door offers its own pages', () => {
  it('in the doors\' order; a door that is off (registry, install, relay) offers none', async () => {
    const all = await createTestApp();
    const fewer = await createTestApp({ PAIRGATE_REGISTRY_ENABLED: 'false', PAIRGATE_INSTALL_ENABLED: 'false', PAIRGATE_RELAY_ENABLED: 'false' });
    try {
      const titles = (page: string) => [...page.matchAll(/href="([^"]+)"/g)].map((match) => match[1]).filter((href) => !href!.startsWith('/static/'));
      const full = await home(await all.listen());
      expect(titles(full)).toEqual(expect.arrayContaining(['/relay/', '/account', '/integrations', '/boxes', '/docs']));
      expect(full.indexOf('Enter a support code')).toBeLessThan(full.indexOf('Your account'));
      expect(full.indexOf('Boxes on your network')).toBeLessThan(full.indexOf('API documentation'));
      const reduced = await home(await fewer.listen());
      for (const gone of ['/relay/', '/integrations', '/boxes']) expect(titles(reduced)).not.toContain(gone);
      expect(titles(reduced)).toEqual(expect.arrayContaining(['/account', '/docs']));
    } finally {
      await all.close();
      await fewer.close();
    }
  });
});
