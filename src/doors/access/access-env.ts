import type { Static } from 'typebox';
import { packageVersion } from '../../server/version.js';
import type { DoorContext } from '../door.js';
import type { AppAccesses } from './app-accesses.js';
import type { accessConfigSchema } from './config.js';
import type { ConsentDeps } from './consent.js';
import type { ReturnOrigins } from './return-url.js';

/** Everything the access door's routes share, built once at registration. */
export interface AccessEnv {
  ctx: DoorContext;
  cfg: Static<typeof accessConfigSchema>;
  accesses: AppAccesses;
  consent: ConsentDeps;
  returnOrigins: ReturnOrigins;
  /** URLs under which an auth request may name its authUrl (pairgate's auth page first); see auth-url.ts. */
  trustedAuthUrls(): string[];
  /** pairgate's own auth page. */
  authPageUrl(): string;
  /** The service info document. */
  serviceInfo(): Record<string, unknown>;
  /** The user API URL template with `{username}`. */
  apiTemplate(): string;
}

/** Pryv's `meta` of API answers: the library reads serverTime (seconds) from every answer. */
export function apiMeta(now: number): Record<string, unknown> {
  return { apiVersion: packageVersion(), serverTime: now / 1000, serial: '1' };
}

/** Inserts `token` as the user part of `url` (`https://<token>@host/...`), as Pryv's apiEndpoint has it. */
export function withToken(url: string, token: string): string {
  const at = url.indexOf('://');
  return `${url.slice(0, at + 3)}${token}@${url.slice(at + 3)}`;
}
