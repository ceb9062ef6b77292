import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Grant } from '../../core/grant.js';
import { randomId } from '../../core/ids.js';
import { SESSION_KIND } from './relay-code.js';

/** What a session grant holds (the `request` of a `support-session` grant). No secret in clear. */
export interface SessionRequest {
  /** The supporter's chosen id, e.g. `helping-joe`. */
  id: string;
  supporterName: string;
  supporterAvatar: string;
  /** The session's own login (the seed's `username`/`password`), password as a scrypt hash. */
  username: string | null;
  passwordHash: string | null;
  /** SHA-256 of the agent token in AgentMSH and MeshServer. */
  tokenHash: string;
  meshName: string;
  meshIdHex: string;
  /** The grant id of the session's pairing code, when pairing is on. */
  pairingGrantId: string | null;
}

/**
 * A random session id (72 bits, base64url) that starts with a letter or digit, as SESSION_ID_PATTERN
 * wants: about one base64url id in 32 starts with `-` or `_`, which the session's own routes then
 * refused, and which a command line would read as an option (`session attach -x...`).
 */
export function newSessionId(): string {
  for (;;) {
    const id = randomId(9);
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

/** What confirmation produced (the `result` of a `support-session` grant). */
export interface SessionResult {
  /** SHA-256 of the agent's session credential, returned once by the confirmation. */
  credentialHash: string | null;
  confirmedAt: number;
  connected: boolean;
  connectedAt: number | null;
  declined?: boolean;
}

/** A session grant. */
export type SessionGrant = Grant<SessionRequest, SessionResult>;

/** What a supporter sees of a session's life. */
export type SessionState = 'waiting' | 'confirmed' | 'connected' | 'declined' | 'expired';

/** The grant id of session `id` (prefixed so it never collides with another door's ids). */
export function sessionGrantId(id: string): string {
  return `${SESSION_KIND}:${id}`;
}

/** A session's state from its grant's state (`expired` applied by the engine) and result. */
export function sessionState(grantState: string, result: SessionResult | null): SessionState {
  if (grantState === 'expired') return 'expired';
  if (grantState === 'refused' || result?.declined) return 'declined';
  if (grantState === 'pending') return 'waiting';
  return result?.connected ? 'connected' : 'confirmed';
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A 20-letter agent token like the seed's (`xddRGfuIOaqwBxVIWrnp`, 114 bits), from the CSPRNG. */
export function agentToken(): string {
  let token = '';
  for (let i = 0; i < 20; i++) token += LETTERS[randomInt(LETTERS.length)];
  return token;
}

/** MeshCentral-style mesh identity: 48 random bytes as upper-case hex. */
export function newMeshIdHex(): string {
  return randomBytes(48).toString('hex').toUpperCase();
}

/** MeshCentral's MeshID spelling of the same bytes: `mesh//` + base64 with `+`->`@`, `/`->`$`. */
export function meshIdOf(hex: string): string {
  return `mesh//${Buffer.from(hex, 'hex').toString('base64').replace(/\+/g, '@').replace(/\//g, '$').replace(/=+$/, '')}`;
}

/** The server's id in agent configurations: SHA-384 of its public URL, upper-case hex. */
export function serverIdOf(publicUrl: string): string {
  return createHash('sha384').update(publicUrl).digest('hex').toUpperCase();
}

/** The agent configuration of a session, as the seed's `AgentConfig`. */
export function agentConfig(publicUrl: string, session: SessionRequest, token: string) {
  const wsBase = publicUrl.replace(/^http/, 'ws');
  return {
    ServerID: serverIdOf(publicUrl),
    MeshName: session.meshName,
    MeshType: 2,
    MeshID: meshIdOf(session.meshIdHex),
    MeshIDHex: `0x${session.meshIdHex}`,
    MeshServer: `${wsBase}/agent/${session.id}:${token}`,
  };
}

/** The `.msh` file served at AgentMSH: the same configuration as key=value lines. */
export function mshFile(config: ReturnType<typeof agentConfig>): string {
  return `${Object.entries(config).map(([key, value]) => `${key}=${String(value)}`).join('\n')}\n`;
}
