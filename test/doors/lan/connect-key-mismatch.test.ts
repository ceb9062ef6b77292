import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectToTrustedPeer } from '../../../src/doors/lan/connect.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * `lan connect` to a trusted peer that answers with another key than the one stored when the two
 * paired: refused (lan_key_mismatch), in words about that pairing, not about a connection string
 * (`lan connect` has none), and saying how to pair anew when the device was only set up again.
 */
describe('lan connect: another key at a trusted peer\'s address', () => {
  let server: tls.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('is refused, naming the peer, the stored pairing and how to pair again', async () => {
    const stranger = await createTlsIdentity('someone else', 600);
    server = tls.createServer({ key: stranger.keyPem, cert: stranger.certPem }, (socket) => socket.end());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const dir = deviceDir('connect-mismatch');
    await new TrustedPeerStore(dir).save({ deviceId: 'AttIc0000000000000000a', name: 'attic', keySha256: `k1${'a'.repeat(41)}`, addresses: ['127.0.0.1'] });
    const error = await connectToTrustedPeer('attic', { configDir: dir, port: (server.address() as AddressInfo).port, dialTimeoutMs: 2000 }).then(
      () => { throw new Error('expected a refusal'); },
      (e: Error & { code?: string }) => e,
    );
    expect(error.code).toBe('lan_key_mismatch');
    expect(error.message).toContain('another key than "attic" had when you paired');
    expect(error.message).toContain('pairgate peers remove AttIc0000000000000000a');
    expect(error.message).not.toContain('connection string');
  });
});
