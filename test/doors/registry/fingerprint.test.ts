import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBoxIdentity, loadBoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { base32Lower, certificateFingerprints, fingerprintForm, FINGERPRINT_PATTERN, spkiFingerprint } from '../../../src/core/fingerprint.js';

describe('fingerprints', () => {
  it('base32 is RFC 4648 lower case without padding (test vectors)', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'my'], ['fo', 'mzxq'], ['foo', 'mzxw6'], ['foob', 'mzxw6yq'], ['fooba', 'mzxw6ytb'], ['foobar', 'mzxw6ytboi']];
    for (const [input, output] of vectors) expect(base32Lower(Buffer.from(input))).toBe(output);
  });

  it('the SPKI SHA-256 fingerprint is 52 characters and fits a DNS label', () => {
    const fp = spkiFingerprint(Buffer.from('any key bytes'));
    expect(fp).toHaveLength(52);
    expect(fp).toMatch(FINGERPRINT_PATTERN);
    expect(fingerprintForm(fp)).toBe('spki-sha256');
    expect(fingerprintForm('a'.repeat(40))).toBe('legacy-sha1');
    expect(fingerprintForm('A'.repeat(52))).toBeUndefined();
  });

  it('box init makes a private key, a self-signed certificate and both fingerprints; it is stable and re-readable', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-box-')), 'box');
    const box = await initBoxIdentity(dir, { name: 'kitchen' });
    expect(statSync(join(dir, 'box.key')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(box.certPem);
    expect(cert.subject).toBe('CN=kitchen');
    expect(cert.verify(cert.publicKey)).toBe(true); // self-signed
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    expect(box.fingerprint).toBe(base32Lower(createHash('sha256').update(spki).digest()));
    expect(box.legacyFingerprint).toBe(createHash('sha1').update(cert.raw).digest('hex'));
    expect(certificateFingerprints(box.certPem)).toEqual({ fingerprint: box.fingerprint, legacy: box.legacyFingerprint });
    // A second init keeps the identity; --force replaces it.
    expect((await initBoxIdentity(dir)).fingerprint).toBe(box.fingerprint);
    expect(loadBoxIdentity(dir).fingerprint).toBe(box.fingerprint);
    expect((await initBoxIdentity(dir, { force: true })).fingerprint).not.toBe(box.fingerprint);
  });
});
