import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { RegistryClient } from '../../../src/sdk/registry.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, updateClient, ZONE } from '../dns/dns-helpers.js';

/**
 * Privacy mode's origin (`/ping` answers `{"private": true, "origin": ...}`), over real sockets with
 * the DNS door running: the name a browser is sent to must exist (the box published it through the
 * update API) and must carry the port the box serves on. Before, a box serving on 4443 was sent as
 * `https://local.<fp>.<zone>` (port 443: nothing there), and a box that had published no record was
 * sent to a name that does not resolve.
 */
describe('registry privacy mode: the origin given is one a browser can reach', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let registry: RegistryClient;

  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_REGISTRY_PRIVATE: 'true', PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '100', PAIRGATE_RATE_LIMIT_MAX: '10000' }));
    registry = new RegistryClient({ baseUrl: await t.listen() });
  });
  afterAll(() => t?.close());

  /** What `/ping` says privately of `box`. */
  async function privateEntry(box: BoxIdentity): Promise<unknown> {
    const entry = (await registry.ping()).find((announcement) => announcement.client === box.fingerprint);
    return entry && JSON.parse(entry.message);
  }

  /** Publishes `box`'s address as `pairgate box announce --zone` does: the main name and a mirror. */
  async function publish(box: BoxIdentity, ip: string): Promise<void> {
    const dns = updateClient(runtime, box);
    await dns.set(`local.${box.fingerprint}.${ZONE}`, 'A', ip);
    await dns.set(`a.${box.fingerprint}.${ZONE}`, 'A', ip, 60);
  }

  it('keeps the port of the announced local origin (a box serving on 4443 is not sent to 443)', async () => {
    const box = await newBox('kitchen');
    await publish(box, '192.168.1.44');
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: `https://a.${box.fingerprint}.${ZONE}:4443`, tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `https://local.${box.fingerprint}.${ZONE}:4443` });
    expect(JSON.stringify(await registry.ping())).not.toContain('192.168.1.44');
  });

  it('the same over mutual TLS on the update listener', async () => {
    const box = await newBox('cellar');
    await publish(box, '192.168.1.45');
    await updateClient(runtime, box).register({ fingerprint: box.fingerprint, local_origin: `https://a.${box.fingerprint}.${ZONE}:8443` });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `https://local.${box.fingerprint}.${ZONE}:8443` });
  });

  it('the default port stays out of the origin, as browsers write it', async () => {
    const box = await newBox('attic');
    await publish(box, '192.168.1.46');
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: `https://a.${box.fingerprint}.${ZONE}:443`, tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `https://local.${box.fingerprint}.${ZONE}` });
    // A message that is not JSON (Mozilla's shape is opaque) says no port: the default one.
    await registry.announce(box, { client: box.fingerprint, message: 'the attic box' });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `https://local.${box.fingerprint}.${ZONE}` });
  });

  it('keeps the scheme too: a box serving plain http on 8080 is not sent to https on 443', async () => {
    const box = await newBox('porch');
    await publish(box, '192.168.1.49');
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: 'http://192.168.1.49:8080', tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `http://local.${box.fingerprint}.${ZONE}:8080` });
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: 'http://192.168.1.49', tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `http://local.${box.fingerprint}.${ZONE}` });
    // Anything but http(s) (in Mozilla's opaque message) says nothing of how the box serves: https on its default port.
    await registry.announce(box, { client: box.fingerprint, message: JSON.stringify({ local_origin: 'ftp://192.168.1.49:2121' }) });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `https://local.${box.fingerprint}.${ZONE}` });
    expect(JSON.stringify(await registry.ping())).not.toContain('192.168.1.49');
  });

  it('a box that published no record is said to be here, with no origin (the name would not resolve)', async () => {
    const box = await newBox('garage');
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.47:4443', tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: null });
    const text = JSON.stringify(await registry.ping());
    expect(text).not.toContain('192.168.1.47');
    expect(text).not.toContain(`local.${box.fingerprint}`);
    // Once it publishes its name, its next announcement gives it; once the name is gone, no more.
    await updateClient(runtime, box).set(`local.${box.fingerprint}.${ZONE}`, 'A', '192.168.1.47');
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.47:4443', tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: `https://local.${box.fingerprint}.${ZONE}:4443` });
    await updateClient(runtime, box).remove(`local.${box.fingerprint}.${ZONE}`, { type: 'A' });
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.47:4443', tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: null });
  });

  it('records of the box under other names only (a mirror, a challenge) do not make local.<fp> resolve', async () => {
    const box = await newBox('shed');
    await updateClient(runtime, box).set(`a.${box.fingerprint}.${ZONE}`, 'A', '192.168.1.48', 60);
    await updateClient(runtime, box).set(`_acme-challenge.local.${box.fingerprint}.${ZONE}`, 'TXT', 'token');
    await registry.announce(box, { fingerprint: box.fingerprint, local_origin: `https://a.${box.fingerprint}.${ZONE}:4443`, tunnel_origin: null });
    expect(await privateEntry(box)).toEqual({ private: true, origin: null });
  });
});
