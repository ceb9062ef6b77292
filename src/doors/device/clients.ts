import { ConfigError } from '../../core/errors.js';
import { OAuthError } from './oauth-errors.js';

/** A client registered for the device grant. Public: it has no secret (RFC 8628 §3.1 allows it). */
export interface DeviceClient {
  id: string;
  /** What the person is shown on the consent screen. */
  name: string;
  /** Scopes it may ask for; undefined = any. */
  scopes: readonly string[] | undefined;
}

/** The registered clients by client_id. */
export type DeviceClients = ReadonlyMap<string, DeviceClient>;

/** client_id as configured: printable ASCII without spaces or quotes, so it is safe in logs and forms. */
const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~:@/+-]{1,100}$/;
/** One scope token (RFC 6749 §3.3: NQCHAR = %x21 / %x23-5B / %x5D-7E), bounded in length. */
const SCOPE_TOKEN_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
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
    if (!CLIENT_ID_PATTERN.test(id)) throw new ConfigError(KEY, `client_id "${id}" must be 1 to 100 characters of A-Z a-z 0-9 . _ ~ : @ / + -`);
    const entry = typeof value === 'string' ? { name: value } : value;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new ConfigError(KEY, `the value of "${id}": ${EXAMPLE}`);
    const { name, scopes } = entry as { name?: unknown; scopes?: unknown };
    if (typeof name !== 'string' || !name.trim() || name.length > 100) throw new ConfigError(KEY, `"${id}" needs a display name of 1 to 100 characters`);
    if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && SCOPE_TOKEN_PATTERN.test(scope)))) {
      throw new ConfigError(KEY, `the scopes of "${id}" must be a list of scope tokens (no spaces, quotes or backslashes)`);
    }
    clients.set(id, { id, name: name.trim(), scopes: scopes === undefined ? undefined : [...new Set(scopes as string[])] });
  }
  return clients;
}

/** The registered client `clientId`, or 401 `invalid_client` (RFC 6749 §5.2). */
export function requireClient(clients: DeviceClients, clientId: string): DeviceClient {
  const client = clients.get(clientId);
  if (!client) throw new OAuthError('invalid_client', 'Unknown client_id: register the client in PAIRGATE_DEVICE_CLIENTS.', 401);
  return client;
}

/**
 * The scope a request is granted, normalised (tokens once each, in the order asked): every token
 * must be one the client may ask for (else 400 `invalid_scope`); no scope asked means every scope the
 * client is registered with ('' when it has no list).
 */
export function grantedScope(client: DeviceClient, requested: string | undefined): string {
  const tokens = [...new Set((requested ?? '').split(' ').filter(Boolean))];
  if (tokens.length === 0) return (client.scopes ?? []).join(' ');
  if (tokens.length > 50) throw new OAuthError('invalid_scope', 'At most 50 scopes may be asked for.');
  for (const token of tokens) {
    if (!SCOPE_TOKEN_PATTERN.test(token)) throw new OAuthError('invalid_scope', 'A scope token has a character RFC 6749 does not allow, or is too long.');
    if (client.scopes && !client.scopes.includes(token)) throw new OAuthError('invalid_scope', `This client may not ask for the scope "${token}".`);
  }
  return tokens.join(' ');
}
