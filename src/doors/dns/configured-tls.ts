import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../core/errors.js';
import { unreadable } from '../../server/config.js';

function readSetting(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path}: ${unreadable(error)}`);
  }
}

/**
 * The update API's configured certificate and key (PAIRGATE_DNS_UPDATE_TLS_CERT and _KEY), read
 * and checked at start-up: a file missing, a folder, the two swapped or a key of another
 * certificate each stop the server naming the key at fault. Before, Node's words came out alone
 * ("ENOENT: no such file or directory", "PEM routines::no start line", "key values mismatch"),
 * naming no setting, with exit code 1.
 */
export function readConfiguredTls(certFile: string, keyFile: string): { key: string; cert: string } {
  const cert = readSetting('PAIRGATE_DNS_UPDATE_TLS_CERT', certFile);
  const key = readSetting('PAIRGATE_DNS_UPDATE_TLS_KEY', keyFile);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    const hint = /PRIVATE KEY-----/.test(cert) ? ': it holds a private key (are the certificate and the key swapped?)' : '';
    throw new ConfigError('PAIRGATE_DNS_UPDATE_TLS_CERT', `${certFile} is not a PEM certificate${hint}`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    const hint = key.includes('-----BEGIN CERTIFICATE-----') ? ': it holds a certificate (are the certificate and the key swapped?)' : ' (an encrypted key is not supported)';
    throw new ConfigError('PAIRGATE_DNS_UPDATE_TLS_KEY', `${keyFile} is not a PEM private key${hint}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError('PAIRGATE_DNS_UPDATE_TLS_KEY', `${keyFile} is not the key of the certificate ${certFile} (PAIRGATE_DNS_UPDATE_TLS_CERT)`);
  }
  return { key, cert };
}
