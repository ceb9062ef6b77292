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
/** Another key for the delivery code: a seal of one never opens as the other. */
const REDELIVERY_INFO = 'pairgate access redelivery v1';

function boxFor(secret: string, grantId: string, info = INFO): SecretBox {
  return new SecretBox(Buffer.from(hkdfSync('sha256', secret, grantId, info, 32)));
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

/**
 * Seals a pinned app's delivery code for the browser session that accepted: under the key's secret
 * and that session's token together. The key alone (whoever started the request holds it) does
 * not open it, nor does the session alone; the same browser sending the same form again (a second
 * press of Accept) does, and is sent to the app's return address again with it.
 */
export function sealDelivery(delivery: string, grantId: string, keySecret: string, sessionToken: string): string {
  return boxFor(`${keySecret}.${sessionToken}`, grantId, REDELIVERY_INFO).seal(delivery, `access-redelivery:${grantId}`);
}

/** Opens a sealed delivery code; undefined for another key or another session. */
export function openDelivery(sealed: string, grantId: string, keySecret: string, sessionToken: string): string | undefined {
  return boxFor(`${keySecret}.${sessionToken}`, grantId, REDELIVERY_INFO).open(sealed, `access-redelivery:${grantId}`);
}
