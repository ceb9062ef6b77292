import { STATUS_CODES } from 'node:http';
import { PairgateError } from '../../core/errors.js';
import type { ErrorShape } from '../../server/error-shapes.js';

/**
 * Stable numeric error numbers of the registry (`errno`), in the style of Mozilla's services: a
 * number per machine code, never reused. Unknown codes map to 999.
 */
export const REGISTRY_ERRNOS: Readonly<Record<string, number>> = {
  invalid_request: 100,
  validation_failed: 101,
  invalid_json: 102,
  payload_too_large: 103,
  unsupported_media_type: 104,
  body_not_utf8: 105,
  body_forbidden_key: 106,
  unauthorized: 110,
  client_certificate_required: 118,
  signature_missing: 111,
  signature_invalid: 112,
  fingerprint_mismatch: 113,
  signature_expired: 114,
  signature_replayed: 115,
  body_mismatch: 116,
  legacy_fingerprint_disabled: 117,
  wrong_audience: 119,
  too_many_boxes: 120,
  rate_limited: 130,
  route_not_found: 140,
  store_unavailable: 150,
  store_conflict: 151,
  // The mutual-TLS `POST /register`'s refusals of a client certificate's key (`clientKeyRefusal`),
  // the update API's codes on the same listener; numbered apart, the 11x of authentication being taken.
  client_key_too_weak: 160,
  client_key_unsupported: 161,
  internal_error: 999,
};

/**
 * The registry's wire shape, Mozilla's `{code, errno, error}`: `code` the HTTP status, `errno` a
 * stable number, `error` the status text; pairgate adds `message` (for people) and `reason` (the
 * machine code, the same as on the other doors).
 */
export const registryErrorShape: ErrorShape = (error) => ({
  code: error.status,
  errno: REGISTRY_ERRNOS[error.code] ?? 999,
  error: STATUS_CODES[error.status] ?? 'Error',
  message: error.message,
  reason: error.code,
  ...(error.details ?? {}),
});

/**
 * 429 `too_many_boxes` (errno 120): the public network already lists PAIRGATE_REGISTRY_MAX_PER_IP
 * boxes, or (`level` `ipv6-block`) the IPv6 /48 around it lists PAIRGATE_REGISTRY_MAX_PER_IPV6_48
 * on all its /64s together. Told apart from `rate_limited` (130), which is about how often one
 * address calls: here waiting a minute does not help, a place frees up only when a box stops
 * announcing, so Retry-After says when the oldest announcement expires.
 */
export class TooManyBoxesError extends PairgateError {
  constructor(max: number, retryAfterSeconds: number, level: 'network' | 'ipv6-block' = 'network') {
    super('too_many_boxes', 429, level === 'network'
      ? `This network already lists ${max} boxes, the most it may; a place frees up when one stops announcing.`
      : `The networks of this IPv6 /48 already list ${max} boxes together, the most they may; a place frees up when one stops announcing.`, { retryAfterSeconds });
  }
}
