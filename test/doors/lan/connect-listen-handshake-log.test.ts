import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { listenForTrustedPeer, type TrustedListener } from '../../../src/doors/lan/connect.js';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { dialPinned } from '../../../src/doors/lan/pinned-dial.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * `lan connect --listen`'s log when a device leaves in the middle of the TLS handshake (it pins
 * another key than this device's): it read as an offer's, of "an old or mistyped connection string"
 * and "(not counted)", while this listener has no connection string and counts no attempts.
 */
let listener: TrustedListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

describe('lan connect --listen: a device that left its TLS handshake', () => {
  it('is logged in the words of a trusted-peer listener, not of an offer', async () => {
    const dir = deviceDir('listen-handshake');
    await loadDeviceIdentity(dir, 'desk');
    const logs: string[] = [];
    listener = await listenForTrustedPeer({ configDir: dir, host: '127.0.0.1', port: 0, timeoutMs: 20_000, log: (line) => logs.push(line) });
    listener.result.catch(() => undefined);
    // As a trusted peer that pins another key of this device does: it closes once it sees the key.
    await expect(dialPinned('127.0.0.1', listener.port, randomBytes(32), 2000)).rejects.toMatchObject({ code: 'lan_key_mismatch' });
    await expect.poll(() => logs.find((l) => l.includes('TLS handshake'))).toBeDefined();
    const line = logs.find((l) => l.includes('TLS handshake'))!;
    expect(line).toMatch(/^A device at 127\.0\.0\.1 left during the TLS handshake: a device that expects another key here does so/);
    expect(line).not.toContain('connection string');
    expect(line).not.toContain('not counted');
  });
});
