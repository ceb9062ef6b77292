import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { renewalDecision } from '../../../src/doors/dns/certificate-renewal.js';

const DAY = 86_400_000;

/** The key (PKCS#8 PEM) of each certificate `certificate` made. */
const keysByCert = new Map<string, string>();
const keyOf = (pem: string): string => keysByCert.get(pem)!;

/** A self-signed certificate for `names`, valid until `notAfter`. */
async function certificate(names: string[], notAfter: Date): Promise<string> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    name: 'CN=renewal test',
    notBefore: new Date(Date.now() - DAY),
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))],
  });
  const pem = cert.toString('pem');
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  keysByCert.set(pem, `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`);
  return pem;
}

describe('renewalDecision', () => {
  const names = ['local.fp.box.example', 'a.fp.box.example'];
  const now = Date.UTC(2026, 10, 22);

  it('keeps a certificate that covers every name and has more than the margin left', async () => {
    const pem = await certificate(names, new Date(now + 60 * DAY));
    const decision = renewalDecision({ chainPem: pem, keyPem: keyOf(pem) }, names, 30, now);
    expect(decision).toMatchObject({ renew: false });
    expect(decision.renew === false && decision.validTo.getTime()).toBeGreaterThan(now + 59 * DAY);
    // Names compare without case, as DNS does.
    expect(renewalDecision({ chainPem: pem, keyPem: keyOf(pem) }, ['LOCAL.fp.box.example'], 30, now)).toMatchObject({ renew: false });
  });

  it('renews inside the margin, after expiry, for a missing name, a missing or unreadable file', async () => {
    const soon = await certificate(names, new Date(now + 10 * DAY));
    expect(renewalDecision({ chainPem: soon, keyPem: keyOf(soon) }, names, 30, now)).toMatchObject({ renew: true, reason: expect.stringMatching(/within 30 days/) });
    expect(renewalDecision({ chainPem: soon, keyPem: keyOf(soon) }, names, 5, now)).toMatchObject({ renew: false });
    const expired = await certificate(names, new Date(now - DAY));
    expect(renewalDecision({ chainPem: expired, keyPem: keyOf(expired) }, names, 0, now)).toMatchObject({ renew: true, reason: expect.stringMatching(/expired/) });
    const partial = await certificate(['local.fp.box.example'], new Date(now + 60 * DAY));
    expect(renewalDecision({ chainPem: partial, keyPem: keyOf(partial) }, names, 30, now)).toMatchObject({ renew: true, reason: 'the certificate does not cover a.fp.box.example' });
    expect(renewalDecision({ chainPem: undefined, keyPem: undefined }, names, 30, now)).toMatchObject({ renew: true, reason: 'no certificate yet' });
    expect(renewalDecision({ chainPem: 'not a certificate', keyPem: undefined }, names, 30, now)).toMatchObject({ renew: true, reason: 'the certificate file cannot be read' });
  });

  it('renews a certificate whose key file is missing, unreadable or another key (a run stopped between its two renames)', async () => {
    const pem = await certificate(names, new Date(now + 60 * DAY));
    const other = await certificate(names, new Date(now + 60 * DAY));
    expect(renewalDecision({ chainPem: pem, keyPem: undefined }, names, 30, now)).toMatchObject({ renew: true, reason: 'the key file is missing' });
    expect(renewalDecision({ chainPem: pem, keyPem: keyOf(other) }, names, 30, now)).toMatchObject({ renew: true, reason: 'the key file does not hold the certificate\'s key' });
    expect(renewalDecision({ chainPem: pem, keyPem: 'not a key' }, names, 30, now)).toMatchObject({ renew: true, reason: 'the key file does not hold the certificate\'s key' });
  });
});
