import { generateKeyPairSync, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { spkiFingerprint } from '../../../src/core/fingerprint.js';
import { loadX509 } from '../../../src/doors/shared/x509-library.js';

/** A client certificate made for a test, with its key and the fingerprint it names a box by. */
export interface ClientCert {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

/** The key of a test client certificate: RSA of some size, EC on a curve, or RSA-PSS (id-RSASSA-PSS). */
export type ClientKeyKind =
  | { name: 'RSASSA-PKCS1-v1_5'; modulusLength: number }
  | { name: 'ECDSA'; namedCurve: string }
  | { name: 'RSA-PSS'; modulusLength: number };

/** PKCS#8 DER as PEM. */
function pkcs8Pem(der: ArrayBuffer | Buffer): string {
  const base64 = Buffer.from(der instanceof Buffer ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${base64.replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
}

/**
 * A client certificate whose key is of `kind`. WebCrypto makes no RSA-PSS key (its RSA-PSS keys
 * are rsaEncryption ones), so that one is made by Node and its certificate signed by a throwaway
 * P-256 key: the servers under test never check the chain, and the TLS handshake proves only that
 * the client holds the certificate's key.
 */
export async function clientCert(kind: ClientKeyKind): Promise<ClientCert> {
  const x509 = await loadX509();
  const common = {
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  };
  let keyPem: string;
  let certPem: string;
  if (kind.name === 'RSA-PSS') {
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: kind.modulusLength });
    const signer = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      ...common,
      subject: 'CN=client key test',
      issuer: 'CN=client key test signer',
      publicKey: pss.publicKey.export({ type: 'spki', format: 'der' }),
      signingKey: signer.privateKey as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    keyPem = pkcs8Pem(pss.privateKey.export({ type: 'pkcs8', format: 'der' }));
    certPem = cert.toString('pem');
  } else {
    const generate = kind.name === 'ECDSA' ? kind : { ...kind, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(generate, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      ...common,
      name: 'CN=client key test',
      signingAlgorithm: kind.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      keys: keys as never,
    });
    keyPem = pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    certPem = cert.toString('pem');
  }
  return { keyPem, certPem, fingerprint: spkiFingerprint(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })) };
}

/**
 * POSTs `body` as JSON to `url` over TLS presenting `client` (trusting `ca`, the listener's own
 * certificate), on a connection of its own: the answer's status and JSON body.
 */
export function postJsonWithCert(url: string, client: ClientCert, ca: string | undefined, body: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', key: client.keyPem, cert: client.certPem, ...(ca === undefined ? {} : { ca }), agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
