import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

/** Whether a certificate on disk can stay, and why not when it cannot. */
export type RenewalDecision =
  | { renew: false; validTo: Date }
  | { renew: true; reason: string };

const DAY_MS = 86_400_000;

/** The DNS names a certificate covers (its subject alternative names), lower case. */
function dnsNames(certificate: X509Certificate): Set<string> {
  const names = (certificate.subjectAltName ?? '').split(',').map((entry) => entry.trim());
  return new Set(names.filter((entry) => entry.startsWith('DNS:')).map((entry) => entry.slice(4).toLowerCase()));
}

/**
 * Decides whether the certificate chain `files.chainPem` (its first certificate, the leaf) must be
 * renewed: it must if it cannot be read, if `files.keyPem` (the key file beside it) is missing or
 * is not the certificate's key, if it lacks one of `names`, or if it expires within `withinDays` of
 * `now`. ACME clients renew with about a third of the lifetime left (30 days for Let's Encrypt's
 * 90); running `pairgate box cert --renew-within 30` daily does the same. The key is checked
 * because the two files are replaced one after the other: a run stopped between the two left a new
 * key beside the old certificate, which a server cannot use, and which was never renewed.
 *
 * `timeWords` says the certificate's end in a reason: ISO by default; the CLI passes its local
 * time with how far off (`whenWords`), as its other commands print times for people.
 */
export function renewalDecision(
  files: { chainPem: string | undefined; keyPem: string | undefined },
  names: readonly string[],
  withinDays: number,
  now = Date.now(),
  timeWords: (time: Date) => string = (time) => time.toISOString(),
): RenewalDecision {
  const { chainPem, keyPem } = files;
  if (chainPem === undefined) return { renew: true, reason: 'no certificate yet' };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chainPem);
  } catch {
    return { renew: true, reason: 'the certificate file cannot be read' };
  }
  if (keyPem === undefined) return { renew: true, reason: 'the key file is missing' };
  if (!isKeyOf(keyPem, leaf)) return { renew: true, reason: 'the key file does not hold the certificate\'s key' };
  const covered = dnsNames(leaf);
  const missing = names.filter((name) => !covered.has(name.toLowerCase()));
  if (missing.length > 0) return { renew: true, reason: `the certificate does not cover ${missing.join(', ')}` };
  const validTo = new Date(leaf.validTo);
  const daysLeft = (validTo.getTime() - now) / DAY_MS;
  if (daysLeft < withinDays) {
    const end = timeWords(validTo);
    return { renew: true, reason: daysLeft <= 0 ? `the certificate expired on ${end}` : `the certificate expires on ${end}, within ${withinDays} ${withinDays === 1 ? 'day' : 'days'}` };
  }
  return { renew: false, validTo };
}

/** Whether `keyPem` is the private key of `certificate` (false when it cannot be read). */
function isKeyOf(keyPem: string, certificate: X509Certificate): boolean {
  try {
    const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
    return spki(createPublicKey(createPrivateKey(keyPem))).equals(spki(certificate.publicKey));
  } catch {
    return false;
  }
}
