import { CodeFormat } from '../../core/codes.js';
import type { Grant } from '../../core/grant.js';
import type { PendingSlot } from './pending-per-network.js';

/** The grant kind of device authorizations. */
export const DEVICE_KIND = 'device';

/**
 * User codes as RFC 8628 §6.1 suggests: 8 base-20 consonants (no vowels, so no words; about 34.6
 * bits) shown as `XXXX-XXXX`. Reading ignores case and separators. No check character: the code is
 * short-lived and typed on a page that says at once when it is wrong.
 */
export const USER_CODE_FORMAT = new CodeFormat({ alphabet: 'base20', length: 8, groupSize: 4 });

/** What a device asked for, and where the request came from (shown on the consent screen). */
export interface DeviceRequest {
  clientId: string;
  clientName: string;
  /** The client's registration when it came from the admin API (DeviceClient.registration). */
  clientRegistration?: string;
  /** The granted scope, space-separated ('' for none). */
  scope: string;
  /** Client address and user agent of the device_authorization request, and when it came (ms). */
  ip: string;
  userAgent: string;
  requestedAt: number;
  /** The per-network place it holds (PendingPerNetwork), given back if the server ends it (`withdrawn`, `client_gone`). */
  place?: PendingSlot;
}

/**
 * The person's decision; or ended by the server, once the device was told so: `withdrawn`, since its
 * client may no longer ask for `scopes` of it (narrowed through the admin API); `client_gone`, since
 * the client's registration it was made under was deleted through the admin API.
 */
export type DeviceResult =
  /**
   * `passwordStamp`: the account's password at the approval (`UserStore.passwordStampOf`); a new
   * password before the device redeems it ends the approval. Absent from an approval an earlier
   * version made.
   */
  | { status: 'approved'; userId: string; username: string; passwordStamp?: string }
  | { status: 'denied'; username: string }
  | { status: 'withdrawn'; scopes: string[] }
  | { status: 'client_gone' };

/** A device authorization grant. */
export type DeviceGrant = Grant<DeviceRequest, DeviceResult>;

const GRANT_ID = /^[0-9a-f]{12}[A-Za-z0-9_-]{22}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/**
 * The device_code handed to the device: the grant id and the grant's secret (256 bits, stored only
 * hashed by the engine), so the token endpoint finds the grant by id and checks the secret in
 * constant time instead of probing an index of secrets.
 */
export function deviceCodeOf(grantId: string, secret: string): string {
  return `${grantId}.${secret}`;
}

/** The grant id and secret of a device_code, or undefined when it cannot be one of ours. */
export function parseDeviceCode(deviceCode: string): { id: string; secret: string } | undefined {
  const dot = deviceCode.indexOf('.');
  if (dot < 0) return undefined;
  const id = deviceCode.slice(0, dot);
  const secret = deviceCode.slice(dot + 1);
  return GRANT_ID.test(id) && SECRET.test(secret) ? { id, secret } : undefined;
}

/** The RFC 8628 grant type of token requests. */
export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
