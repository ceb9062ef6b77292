import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectToTrustedPeer, listenForTrustedPeer, type TrustedListener } from '../../../src/doors/lan/connect.js';
import { peerCertificatePin } from '../../../src/doors/lan/tls-identity.js';
import { trustedPair } from './lan-fixtures.js';

/**
 * `lan connect --listen` and a peer certificate Node cannot read: the pin was taken outside any
 * try, in the listener's connection handler, so the parser's error ended the whole process. It is
 * now `lan_bad_certificate` in the log, that connection is refused, and the listener waits on.
 *
 * OpenSSL completes no handshake with a certificate whose key it cannot use, so a real client
 * cannot send one: the listener's own sockets are made to report a damaged copy of the real
 * certificate (cut short), the one thing a test can make Node fail to parse there.
 */
const listeners: TrustedListener[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});

/** Makes the sockets on local port `port` (the listener's side) see their peer's certificate cut short. */
function damagePeerCertificatesOn(port: number): void {
  const real = tls.TLSSocket.prototype.getPeerCertificate;
  vi.spyOn(tls.TLSSocket.prototype, 'getPeerCertificate').mockImplementation(function (this: tls.TLSSocket, detailed?: boolean) {
    const certificate = real.call(this, detailed as true);
    if (this.localPort !== port || !certificate.raw) return certificate;
    return { ...certificate, raw: certificate.raw.subarray(0, 40) };
  } as typeof real);
}

describe('lan connect --listen: a peer certificate that cannot be read', () => {
  it('peerCertificatePin throws lan_bad_certificate, not the parser\'s own error', async () => {
    const damaged = { getPeerCertificate: () => ({ raw: Buffer.from('not a certificate') }) } as unknown as tls.TLSSocket;
    expect(() => peerCertificatePin(damaged)).toThrow(expect.objectContaining({ code: 'lan_bad_certificate', status: 403 }));
    const none = { getPeerCertificate: () => ({}) } as unknown as tls.TLSSocket;
    expect(peerCertificatePin(none)).toBeUndefined();
  });

  it('is refused and logged with its code, the listener does not crash, and a later session completes', async () => {
    const { listenDir, dialDir } = await trustedPair();
    const logs: string[] = [];
    const listener = await listenForTrustedPeer({ configDir: listenDir, host: '127.0.0.1', port: 0, outDir: listenDir, timeoutMs: 30_000, log: (line) => logs.push(line) });
    listeners.push(listener);
    listener.result.catch(() => undefined);

    damagePeerCertificatesOn(listener.port);
    const failure = await connectToTrustedPeer('desk', { configDir: dialDir, port: listener.port, outDir: dialDir }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'lan_not_trusted' });
    expect(logs.find((line) => line.includes('[lan_bad_certificate]'))).toMatch(/^Refused 127\.0\.0\.1: Its TLS certificate cannot be read, .*\[lan_bad_certificate\]$/);

    // Still listening: the same peer, its certificate read as it is, completes a session.
    vi.restoreAllMocks();
    const connected = await connectToTrustedPeer('desk', { configDir: dialDir, port: listener.port, outDir: dialDir });
    expect(connected.trusted.name).toBe('desk');
    expect((await listener.result).trusted.name).toBe('phone');
  }, 30_000);
});
