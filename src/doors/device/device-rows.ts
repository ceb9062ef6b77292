/** Row types of the device door's tables, merged into the durable schema. Times are ms since the epoch. */

/** An access token issued through the device grant. Only its SHA-256 is kept. */
export interface DeviceAccessTokenRow {
  token_hash: string;
  client_id: string;
  user_id: string;
  /** Space-separated granted scope ('' for none). */
  scope: string;
  /** The device authorization it descends from (its refresh token family): how a device is named to disconnect it. */
  grant_id: string;
  /** The client's registration it was issued under (DeviceClientRow.registration_id); null for a configured client. */
  registration_id: string | null;
  created_at: number | string;
  expires_at: number | string;
}

/**
 * A refresh token of the device door (RFC 6749 §6). Only its SHA-256 is kept. A family is every
 * refresh token (and access token) that descends from one device authorization by rotation.
 */
export interface DeviceRefreshTokenRow {
  token_hash: string;
  /** The device authorization that started the family (the grant_id of its access tokens). */
  family: string;
  client_id: string;
  /** As DeviceAccessTokenRow.registration_id. */
  registration_id: string | null;
  user_id: string;
  /** The scope granted by the person (a refresh may ask for less for its access token, never more). */
  scope: string;
  /** When the person connected the device (the family's first token), kept across rotations. */
  connected_at: number | string;
  created_at: number | string;
  expires_at: number | string;
  /** When it was exchanged (rotated); null while it may still be used. */
  used_at: number | string | null;
}

/** A client registered through the admin API (configured clients are not stored). */
export interface DeviceClientRow {
  client_id: string;
  name: string;
  /** Space-separated scope tokens it may ask for ('' for none at all); null = any scope. */
  scopes: string | null;
  /** Random per registration: a client deleted and registered again gets a new one. */
  registration_id: string;
  created_at: number | string;
  updated_at: number | string;
}

declare module '../../store/durable-schema.js' {
  interface Database {
    device_access_tokens: DeviceAccessTokenRow;
    device_clients: DeviceClientRow;
    device_refresh_tokens: DeviceRefreshTokenRow;
  }
}
