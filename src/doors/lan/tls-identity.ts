import { createHash, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { loadX509 } from '../shared/x509-library.js';
import { BadCertificateError } from './lan-errors.js';

/**
 * TLS keys and self-signed certificates for the lan door, and the SPKI SHA-256 pin that names a
 * key. There is no CA: a peer is whoever holds the key whose SPKI hash we pinned (from the QR code
 * or the trusted-peer store).
 */

/** A key pair with its self-signed certificate, in PEM, and the pin of its public key. */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo. */
  spkiSha256: Buffer;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/**
 * Makes a fresh ECDSA P-256 key and a self-signed certificate valid from a minute ago (clock skew)
 * for `validSeconds`.
 */
export async function createTlsIdentity(commonName: string, validSeconds: number): Promise<TlsIdentity> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    // The name is informational only (pinning ignores it); keep it to safe characters.
    name: `CN=${commonName.replace(/[^A-Za-z0-9 ._-]/g, '_').slice(0, 60) || 'pairgate'}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validSeconds * 1000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    keyPem: pem('PRIVATE KEY', pkcs8),
    certPem: cert.toString('pem'),
    spkiSha256: createHash('sha256').update(Buffer.from(spki)).digest(),
  };
}

/** The SPKI SHA-256 pin of a DER or PEM certificate. */
export function certificatePin(certificate: Buffer | string): Buffer {
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest();
}

/**
 * The SPKI SHA-256 pin of the certificate the other end of `socket` presented, or undefined when
 * it presented none. Throws BadCertificateError (`lan_bad_certificate`) when the certificate, or
 * its public key, is one Node cannot read: the caller is a connection's event handler, where a
 * parser's own error (`ERR_OSSL_...`) thrown would end the whole process, not that connection.
 */
export function peerCertificatePin(socket: TLSSocket): Buffer | undefined {
  try {
    const raw = socket.getPeerCertificate().raw as Buffer | undefined;
    return raw && raw.length > 0 ? certificatePin(raw) : undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BadCertificateError(`Its TLS certificate cannot be read, so its key cannot be checked against a trusted peer's (${reason}).`);
  }
}
