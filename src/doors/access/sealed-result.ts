import { hkdfSync } from 'node:crypto';
import { SecretBox } from '../../server/secret-box.js';
import type { AcceptedOutcome } from './access-request.js';

/**
 * The accepted outcome (username, token, apiEndpoint) as the grant stores it until the app polls:
 * sealed with AES-256-GCM (the server's SecretBox) under a key derived with HKDF-SHA-256 from the
 * secret of the request's key. That secret is stored only as a hash and travels with the key (the
 * app's poll URL, the auth page's form), so whoever presents the key can open the result, and a
 * copy of the database, which holds neither the secret nor the token, cannot. The seal is bound to
 * the grant id (HKDF salt and GCM associated data): copied into another request it does not open.
 */

const INFO = 'pairgate access result v1';

function boxFor(secret: string, grantId: string): SecretBox {
  return new SecretBox(Buffer.from(hkdfSync('sha256', secret, grantId, INFO, 32)));
}

/** Seals an accepted outcome for the holder of `secret`. */
export function sealOutcome(outcome: AcceptedOutcome, grantId: string, secret: string): string {
  return boxFor(secret, grantId).seal(JSON.stringify(outcome), `access-result:${grantId}`);
}

/** Opens a sealed outcome; undefined when `secret` is not the one it was sealed for. */
export function openOutcome(sealed: string, grantId: string, secret: string): AcceptedOutcome | undefined {
  const clear = boxFor(secret, grantId).open(sealed, `access-result:${grantId}`);
  return clear === undefined ? undefined : (JSON.parse(clear) as AcceptedOutcome);
}
