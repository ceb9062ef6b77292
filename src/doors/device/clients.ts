import { ConfigError } from '../../core/errors.js';
import { CLIENT_ID_RULE, CLIENT_NAME_RULE, isClientId, isClientName, isScopeList, isScopeToken, MAX_CLIENT_SCOPES } from './client-rules.js';
import { OAuthError } from './oauth-errors.js';

/** Where a client's registration comes from. */
export type DeviceClientSource = 'config' | 'api';

/** A client registered for the device grant. Public: it has no secret (RFC 8628 §3.1 allows it). */
export interface DeviceClient {
  id: string;
  /** What the person is shown on the consent screen. */
  name: string;
  /** Scopes it may ask for; undefined = any. */
  scopes: readonly string[] | undefined;
  /** PAIRGATE_DEVICE_CLIENTS, or the admin API. */
  source: DeviceClientSource;
  /**
   * Which registration of this client_id (random, made when the admin API creates it; none for a
   * configured client). A device authorization remembers it, so one started before the client was
   * deleted does not come back to life when a client of the same id is registered again.
   */
  registration: string | undefined;
}

/** The configured clients by client_id. */
export type DeviceClients = ReadonlyMap<string, DeviceClient>;

const KEY = 'PAIRGATE_DEVICE_CLIENTS';
const EXAMPLE = 'expected a JSON object {"client-id": "Display name"} or {"client-id": {"name": "Display name", "scopes": ["read"]}}';

/** Parses PAIRGATE_DEVICE_CLIENTS; a bad value stops start-up naming what is wrong. */
export function parseDeviceClients(raw: string): DeviceClients {
  const clients = new Map<string, DeviceClient>();
  if (!raw.trim()) return clients;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(KEY, EXAMPLE);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(KEY, EXAMPLE);
  for (const [id, value] of Object.entries(parsed)) {
    if (!isClientId(id)) throw new ConfigError(KEY, `client_id "${id}" must be ${CLIENT_ID_RULE}`);
    const entry = typeof value === 'string' ? { name: value } : value;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new ConfigError(KEY, `the value of "${id}": ${EXAMPLE}`);
    const { name, scopes } = entry as { name?: unknown; scopes?: unknown };
    // The consent screen shows the name as written, so it follows the admin API's rule exactly.
    if (typeof name !== 'string' || !isClientName(name)) throw new ConfigError(KEY, `the display name of "${id}" must be ${CLIENT_NAME_RULE}`);
    if (scopes !== undefined && (!Array.isArray(scopes) || !isScopeList(scopes))) {
      throw new ConfigError(KEY, `the scopes of "${id}" must be a list of at most ${MAX_CLIENT_SCOPES} scope tokens (no spaces, quotes or backslashes)`);
    }
    clients.set(id, { id, name: name.trim(), scopes: scopes === undefined ? undefined : [...new Set(scopes as string[])], source: 'config', registration: undefined });
  }
  return clients;
}

/** 401 `invalid_client` (RFC 6749 §5.2) for a client_id no one registered. */
export function unknownClient(): OAuthError {
  return new OAuthError('invalid_client', 'Unknown client_id: register the client (PAIRGATE_DEVICE_CLIENTS or the admin API, /api/v1/device/clients).', 401);
}

/**
 * The scope a request is granted, normalised (tokens once each, in the order asked): every token
 * must be one the client may ask for (else 400 `invalid_scope`); no scope asked means every scope the
 * client is registered with ('' when it has no list).
 */
export function grantedScope(client: Pick<DeviceClient, 'scopes'>, requested: string | undefined): string {
  const tokens = [...new Set((requested ?? '').split(' ').filter(Boolean))];
  if (tokens.length === 0) return (client.scopes ?? []).join(' ');
  if (tokens.length > MAX_CLIENT_SCOPES) throw new OAuthError('invalid_scope', `At most ${MAX_CLIENT_SCOPES} scopes may be asked for.`);
  for (const token of tokens) {
    if (!isScopeToken(token)) throw new OAuthError('invalid_scope', 'A scope token has a character RFC 6749 does not allow, or is too long.');
    if (client.scopes && !client.scopes.includes(token)) throw new OAuthError('invalid_scope', `This client may not ask for the scope "${token}". ${scopesAllowed(client.scopes)}`);
  }
  return tokens.join(' ');
}

/** How many of a client's scopes a refusal names: the rest are in the metadata document. */
const SCOPES_NAMED = 10;

/**
 * What a client refused a scope may ask for instead, so its developer fixes the request without
 * hunting: the registered scopes (public anyway, in the metadata's `scopes_supported`), the first
 * few of a long list, and a word on case, the usual slip ("READ" for "read").
 */
function scopesAllowed(scopes: readonly string[]): string {
  if (scopes.length === 0) return 'It is registered with no scope: leave scope out.';
  const named = scopes.slice(0, SCOPES_NAMED).join(' ');
  const more = scopes.length > SCOPES_NAMED ? ` and ${scopes.length - SCOPES_NAMED} more (scopes_supported in /.well-known/oauth-authorization-server)` : '';
  return `It may ask for: ${named}${more} (scopes are case-sensitive), or leave scope out to get all of them.`;
}

/**
 * The tokens of `scope` the client may no longer ask for (none when its registration has no list):
 * its scopes were narrowed through the admin API after the scope was granted or asked for.
 */
export function scopesWithdrawn(client: Pick<DeviceClient, 'scopes'>, scope: string): string[] {
  const allowed = client.scopes;
  if (!allowed) return [];
  return scope.split(' ').filter((token) => token && !allowed.includes(token));
}

/**
 * The scope of a device authorization (or of a refresh) must still be one the client may ask for:
 * an admin who narrowed the client's scopes (PUT on the admin API) after the device asked does not
 * want the wider token issued.
 */
export function assertScopeStillAllowed(client: Pick<DeviceClient, 'scopes'>, scope: string): void {
  const dropped = scopesWithdrawn(client, scope);
  if (dropped.length > 0) throw scopeWithdrawnError(dropped);
}

/** 400 `invalid_scope` for an authorization or a refresh holding `dropped`, scopes its client may no longer ask for. */
export function scopeWithdrawnError(dropped: readonly string[]): OAuthError {
  return new OAuthError('invalid_scope', `This client may no longer ask for the scope "${dropped[0] ?? ''}": start a new device authorization.`);
}
