import type { Static } from 'typebox';
import type { AppAccesses } from '../access/app-accesses.js';
import type { DoorContext } from '../door.js';
import type { DeviceClientRegistry } from './client-registry.js';
import type { deviceConfigSchema } from './config.js';
import type { DeviceTokens } from './device-tokens.js';
import type { PendingPerNetwork } from './pending-per-network.js';
import type { PollPacing } from './poll-pacing.js';

/** Everything the device door's routes share, built once at registration. */
export interface DeviceEnv {
  ctx: DoorContext;
  cfg: Static<typeof deviceConfigSchema>;
  /** Configured and API-registered clients (the latter read from the database at each look-up). */
  clients: DeviceClientRegistry;
  tokens: DeviceTokens;
  pacing: PollPacing;
  /** The cap on device authorizations waiting per client network. */
  pendingPerNetwork: PendingPerNetwork;
  /** The access door's app tokens, which introspection and revocation also answer for. */
  appAccesses: AppAccesses;
}

/** Answers with tokens or token errors must not be cached (RFC 6749 §5.1). */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/**
 * A route's onSend hook that marks every answer of a token-bearing endpoint `no-store` with
 * `Pragma: no-cache` (RFC 6749 §5.1), its errors included: also those raised before the handler
 * runs (a body that is not a form, too large, of the wrong shape, the rate limit), which the
 * handler's own headers never reached.
 */
export function noStore(_request: unknown, reply: { headers(values: Record<string, string>): unknown }, payload: unknown, done: (error: null, payload: unknown) => void): void {
  reply.headers(NO_STORE);
  done(null, payload);
}
