import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { publicNetworkOf } from '../../../src/server/public-network.js';
import { signAnnouncement } from '../../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

async function box(name: string): Promise<BoxIdentity> {
  return initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-regnet-')), name), { name });
}

describe('publicNetworkOf', () => {
  it('keeps IPv4 whole, keys IPv6 by its /64, reads IPv4-mapped IPv6 as IPv4', () => {
    expect(publicNetworkOf('203.0.113.9')).toBe('203.0.113.9');
    expect(publicNetworkOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(publicNetworkOf('2001:DB8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(publicNetworkOf('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(publicNetworkOf('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(publicNetworkOf('::ffff:c633:6407')).toBe('198.51.100.7');
    expect(publicNetworkOf('::1')).toBe('::/64');
    expect(publicNetworkOf('fe80::1%eth0')).toBe('fe80::/64');
    // Not an address (an odd forwarded header): kept as given, so it matches only itself.
    expect(publicNetworkOf('unknown')).toBe('unknown');
  });

  it('reads an address with the port a proxy wrote after it (203.0.113.9:51234, [2001:db8::1]:443) as that address', () => {
    expect(publicNetworkOf('203.0.113.9:51234')).toBe('203.0.113.9');
    expect(publicNetworkOf('[2001:db8:1:2::1]:443')).toBe('2001:db8:1:2::/64');
    expect(publicNetworkOf('[2001:db8:1:2::1]')).toBe('2001:db8:1:2::/64');
    expect(publicNetworkOf('[::ffff:198.51.100.7]:80')).toBe('198.51.100.7');
    // Not an address with a port: kept as given.
    expect(publicNetworkOf('203.0.113.999:1')).toBe('203.0.113.999:1');
    expect(publicNetworkOf('[nothing]:1')).toBe('[nothing]:1');
    expect(publicNetworkOf('203.0.113.9:123456')).toBe('203.0.113.9:123456');
  });
});

/**
 * Callers on IPv6 and several public networks through a trusted proxy (X-Forwarded-For from
 * 127.0.0.1), over real sockets, at most two boxes per network.
 */
describe('registry: one public network is an IPv4 address or an IPv6 /64, and holds at most MAX_PER_IP boxes', () => {
  let t: TestApp;
  let base: string;
  const clock = new ManualClock(Date.now());
  const boxes: BoxIdentity[] = [];

  async function announce(forwardedFor: string, identity: BoxIdentity, message = 'hello') {
    const raw = JSON.stringify({ client: identity.fingerprint, message });
    const authorization = await signAnnouncement(identity, raw, { now: clock.now() });
    return httpFrom('127.0.0.1', `${base}/register`, { method: 'POST', body: raw, headers: { authorization, 'x-forwarded-for': forwardedFor } });
  }
  const ping = async (forwardedFor: string) => (await httpFrom('127.0.0.1', `${base}/ping`, { headers: { 'x-forwarded-for': forwardedFor } })).json as { public_ip: string; client: string }[];

  beforeAll(async () => {
    t = await createTestApp({
      PAIRGATE_TRUST_PROXY: '127.0.0.1',
      PAIRGATE_REGISTRY_MAX_PER_IP: '2',
      PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '1000',
      PAIRGATE_REGISTRY_PING_PER_MINUTE: '1000',
      PAIRGATE_RATE_LIMIT_MAX: '100000',
    }, { clock });
    base = await t.listen();
    for (let i = 0; i < 7; i++) boxes.push(await box(`b${i}`));
  });
  afterAll(() => t.close());

  it('a box and a browser on IPv6 behind one router (same /64, different addresses) find each other; another /64 does not', async () => {
    const registered = await announce('2001:db8:1:2:aaaa:bbbb:cccc:1', boxes[0]!);
    expect(registered.status, registered.text).toBe(200);
    expect(await ping('2001:db8:1:2:1234:5678:9abc:def0')).toEqual([expect.objectContaining({ public_ip: '2001:db8:1:2::/64', client: boxes[0]!.fingerprint })]);
    expect(await ping('2001:db8:1:3::1')).toEqual([]);
    // The box's full address is not what is listed: only the network both share.
    expect(JSON.stringify(await ping('2001:db8:1:2::99'))).not.toContain('aaaa');
  });

  it('IPv4 stays whole, and an IPv4-mapped IPv6 caller is that IPv4 address', async () => {
    expect((await announce('::ffff:198.51.100.7', boxes[1]!)).status).toBe(200);
    expect(await ping('198.51.100.7')).toEqual([expect.objectContaining({ public_ip: '198.51.100.7', client: boxes[1]!.fingerprint })]);
    expect(await ping('::ffff:198.51.100.7')).toHaveLength(1);
    expect(await ping('198.51.100.8')).toEqual([]);
  });

  it('the per-network cap answers 429 too_many_boxes (errno 120), counts a /64 as one network, and frees up when a box expires', async () => {
    // The /64 of the first test already lists boxes[0]; one more fits, from yet another address.
    expect((await announce('2001:db8:1:2::2', boxes[2]!)).status).toBe(200);
    clock.advance(30_000);
    const refused = await announce('2001:db8:1:2::3', boxes[3]!);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ code: 429, errno: 120, error: 'Too Many Requests', reason: 'too_many_boxes' });
    // A place frees up when the oldest announcement (boxes[0], 30 s ago) expires: 90 s.
    expect(refused.headers['retry-after']).toBe('90');
    // A listed box may always refresh; another /64 and another IPv4 address have room of their own.
    expect((await announce('2001:db8:1:2:ffff::1', boxes[0]!, 'refreshed')).status).toBe(200);
    expect((await announce('2001:db8:1:4::3', boxes[3]!)).status).toBe(200);
    expect((await announce('198.51.100.7', boxes[4]!)).status).toBe(200);
    const full = await announce('::ffff:198.51.100.7', boxes[5]!);
    expect(full.json).toMatchObject({ errno: 120, reason: 'too_many_boxes' });
    // Once boxes[2] has not re-announced for the TTL (120 s), boxes[3] gets its place.
    clock.advance(91_000);
    expect((await announce('2001:db8:1:2::3', boxes[3]!)).status).toBe(200);
    expect((await ping('2001:db8:1:2::9')).map((e) => e.client).sort()).toEqual([boxes[0]!.fingerprint, boxes[3]!.fingerprint].sort());
  });

  it('behind a proxy that forwards the client\'s port (Azure Application Gateway, IIS ARR), a box and a browser on one network find each other, and the cap counts the network', async () => {
    // Each connection has a source port of its own: counted by address and port, every connection
    // was a network of its own, and the browser never saw the box.
    expect((await announce('192.0.2.44:40001', boxes[6]!)).status).toBe(200);
    expect(await ping('192.0.2.44:50002')).toEqual([expect.objectContaining({ public_ip: '192.0.2.44', client: boxes[6]!.fingerprint })]);
    expect(await ping('192.0.2.44')).toHaveLength(1);
    expect((await announce('192.0.2.44:40003', boxes[5]!)).status).toBe(200);
    expect((await announce('192.0.2.44:40004', boxes[4]!)).json).toMatchObject({ reason: 'too_many_boxes' });
    expect((await announce('[2001:db8:9:9::1]:40005', boxes[4]!)).status).toBe(200);
    expect(await ping('[2001:db8:9:9::2]:40006')).toEqual([expect.objectContaining({ public_ip: '2001:db8:9:9::/64', client: boxes[4]!.fingerprint })]);
  });
});

describe('registry on a dual-stack listener', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '100000' });
    await t.app.listen({ host: '::', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(() => t.close());

  it('an IPv4 caller that the socket reports as ::ffff:127.0.0.1 is listed under 127.0.0.1', async () => {
    const b = await box('dual');
    const raw = JSON.stringify({ client: b.fingerprint, message: 'dual' });
    const registered = await httpFrom('127.0.0.1', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: await signAnnouncement(b, raw) } });
    expect(registered.status, registered.text).toBe(200);
    const listed = (await httpFrom('127.0.0.1', `${base}/ping`)).json as { public_ip: string; client: string }[];
    expect(listed).toEqual([expect.objectContaining({ public_ip: '127.0.0.1', client: b.fingerprint })]);
  });
});
