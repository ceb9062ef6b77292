import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';
import { loadX509 } from '../shared/x509-library.js';

/** A private key and its certificate, both PEM. */
export interface KeyAndCertificate {
  /** PKCS#8 private key, PEM. */
  keyPem: string;
  /** X.509 certificate, PEM. */
  certPem: string;
}

/** What a self-signed certificate says. */
export interface SelfSignedOptions {
  commonName: string;
  /** DNS names and IP addresses for the subjectAltName extension. */
  altNames?: string[];
  /** Validity in days from now (default 3650: a box's identity is its key, not the dates). */
  days?: number;
  /** Marks the certificate as a CA (for test authorities). */
  ca?: boolean;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/**
 * A fresh ECDSA P-256 key and a self-signed certificate for it (@peculiar/x509 over WebCrypto).
 * P-256 keeps certificates small and is what every TLS stack and JWS library (ES256) speaks.
 */
export async function createSelfSigned(options: SelfSignedOptions): Promise<KeyAndCertificate> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const altNames = options.altNames ?? [];
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
    new x509.KeyUsagesExtension(
      options.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
  ];
  if (!options.ca) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]));
  if (altNames.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(altNames.map((name) => (isIP(name) ? { type: 'ip' as const, value: name } : { type: 'dns' as const, value: name }))));
  }
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${options.commonName.replace(/[,+="<>#;\\]/g, '')}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.days ?? 3650) * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys: keys as never,
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: pem('PRIVATE KEY', pkcs8), certPem: cert.toString('pem') + '\n' };
}
