import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dialByDiscovery } from '../../../src/doors/lan/discovery-dial.js';
import { startAnnouncer } from '../../../src/doors/lan/discovery.js';
import { certificatePin, createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { freePort } from '../../helpers/ports.js';

// Multicast on the loopback interface, on a port no other test file of the run holds. The wall
// clock is stepped back (NTP): only `Date` is faked, which is what a step changes, for the
// announcer and the listener alike (one process, one clock); timers, sockets and
// `performance.now()` run on as they do.
const loopback = { interfaceAddress: '127.0.0.1', port: await freePort(), intervalMs: 100 };
const HOUR_MS = 3_600_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('dialling by discovery when the wall clock is stepped back', () => {
  it('dials an announcer that was unreachable again a second later, not only after the step', async () => {
    const secret = randomBytes(32);
    const deviceId = randomBytes(16).toString('base64url');
    const identity = await createTlsIdentity('offer', 600);
    const port = await freePort();
    const announcer = await startAnnouncer({ ...loopback, announcement: { deviceId, port }, secret });
    cleanups.push(() => announcer.stop());
    const lines: string[] = [];
    const dialled = dialByDiscovery({
      discovery: loopback,
      secret,
      deviceId,
      pin: certificatePin(identity.certPem),
      self: randomBytes(16).toString('base64url'),
      timeoutMs: 6_000,
      dialTimeoutMs: 1_000,
      name: 'offer',
      log: (line) => lines.push(line),
    });
    // Nothing listens on the announced port yet: the first dial fails.
    await vi.waitFor(() => expect(lines.some((line) => line.includes('still listening'))).toBe(true), { timeout: 3_000 });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - HOUR_MS });
    const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const started = performance.now();
    const connection = await dialled;
    connection.socket.destroy();
    expect(connection.address).toBe('127.0.0.1');
    expect(performance.now() - started).toBeLessThan(3_000);
  }, 15_000);

  it('says the one address discovery heard did not answer, when nothing ever listens there', async () => {
    const secret = randomBytes(32);
    const deviceId = randomBytes(16).toString('base64url');
    const identity = await createTlsIdentity('offer', 600);
    const announcer = await startAnnouncer({ ...loopback, announcement: { deviceId, port: await freePort() }, secret });
    cleanups.push(() => announcer.stop());
    const failed = await dialByDiscovery({
      discovery: loopback,
      secret,
      deviceId,
      pin: certificatePin(identity.certPem),
      self: randomBytes(16).toString('base64url'),
      timeoutMs: 1_500,
      dialTimeoutMs: 500,
      name: 'offer',
      log: () => undefined,
    }).catch((error: unknown) => error);
    expect(String((failed as Error).message)).toMatch(/Discovery heard it at 127\.0\.0\.1[^,]*, but that address did not answer\.$/);
  }, 15_000);
});
