import { Type } from 'typebox';

/** Configuration of the install door (pairgate inside chat workspaces: Mattermost, signed webhooks). */
export const installConfigSchema = Type.Object({
  PAIRGATE_INSTALL_ENABLED: Type.Boolean({ default: true, description: 'Serve the install door: organizations, chat installations (Mattermost Apps, signed webhooks) and the linking of chat users to pairgate accounts.' }),
  PAIRGATE_INSTALL_SECRET_KEY: Type.String({ default: '', description: 'Server key (32 random bytes, base64: `openssl rand -base64 32`) under which installation secrets and bot tokens are encrypted (AES-256-GCM). Empty: a key file `secret-box.key` is created in PAIRGATE_DATA_DIR. Nodes sharing a database must share this key.' }),
  PAIRGATE_INSTALL_SETUP_TTL_SECONDS: Type.Integer({ minimum: 300, maximum: 30 * 86400, default: 86400, description: 'How long a setup (manifest link and secret) waits to be installed before it expires; also how long an installation replaced by a newer setup is kept (its calls answer 410) when the newer one is not installed.' }),
  PAIRGATE_INSTALL_LINK_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 3600, default: 300, description: 'Lifetime of a one-time link token (`/pairgate link <token>`).' }),
  PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS: Type.Integer({ minimum: 1, default: 10000, description: 'Link tokens alive at once; beyond it new ones get 429. The brute-force budget is computed with this figure.' }),
  PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_USER: Type.Integer({ minimum: 1, default: 3, description: 'Link tokens one account may hold alive at once, so one account cannot take the server-wide cap (PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS) from everyone else.' }),
  PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_IP: Type.Integer({ minimum: 1, default: 20, description: 'Link tokens the accounts of one client IP (an IPv4 address or an IPv6 /64) may hold alive at once: accounts are free to register, addresses are not.' }),
  PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT: Type.Integer({ minimum: 1, default: 100, description: 'Organizations one account may belong to (those it creates and those an admin adds it to); beyond it creating or being added is refused (409 `too_many_organizations`). An admin adds anyone by username, so without it one free account could bury another in organizations, every one read on each of its pages.' }),
  PAIRGATE_INSTALL_LINK_MISSES_PER_HOUR: Type.Integer({ minimum: 1, default: 10, description: 'Wrong link tokens one chat user may try per hour before being refused.' }),
  PAIRGATE_INSTALL_LINK_MISSES_PER_INSTALLATION: Type.Integer({ minimum: 1, default: 200, description: 'Wrong link tokens all users of one chat installation may try per hour before the installation is refused (bounds an attacker with many chat accounts).' }),
  PAIRGATE_INSTALL_JWT_MAX_AGE_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 900, description: 'Oldest call token accepted: a token issued (`iat`) longer ago, or living longer than this (`exp` further ahead), is refused. Mattermost signs its calls for 15 minutes.' }),
  PAIRGATE_INSTALL_CALLS_PER_MINUTE: Type.Integer({ minimum: 1, default: 600, description: 'Calls per minute one client address may make to the chat callbacks (a chat server calls for all its users).' }),
});
