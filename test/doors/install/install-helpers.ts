import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { signWebhook } from '../../../src/doors/install/webhook/webhook-signature.js';
import { FormClient } from '../access/form-client.js';

/** Configuration of install tests: fast password hashing, limits out of the way of the sweeps. */
export const INSTALL_ENV = {
  PAIRGATE_SCRYPT_COST: '10',
  PAIRGATE_RATE_LIMIT_MAX: '100000',
  PAIRGATE_INSTALL_CALLS_PER_MINUTE: '100000',
  // The shares of the live cap are tested on their own (install-link-token-shares.test.ts); not
  // below the cap, they are not kept at all.
  PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_USER: '1000000',
  PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_IP: '1000000',
  // The manual clocks pass a day and more with the admin's session unused; sessions ending when
  // idle are tested on their own (test/doors/accounts/session-idle-expiry.test.ts).
  PAIRGATE_SESSION_IDLE_SECONDS: String(7 * 86400),
};

/** An answer, parsed. */
export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

/** The people registered in this test file, by server and username: `addMember` accepts for its invitee. */
const registered = new Map<string, Member>();

/** A signed-in person over real sockets: pages through FormClient, JSON with the same cookies. */
export class Member extends FormClient {
  /** Registers (and signs in) `username`. */
  static async create(base: string, username: string): Promise<Member> {
    const member = new Member(base);
    await member.register(username);
    return member;
  }

  /** Registers (and so signs in) an account, remembered for `addMember`. */
  override async register(username: string, password?: string, email?: string): Promise<void> {
    await super.register(username, password, email);
    // By server, and by name alone for servers sharing one database (two nodes).
    registered.set(`${this.base}|${username.toLowerCase()}`, this);
    registered.set(username.toLowerCase(), this);
  }

  /** Invites `username` into `orgId` (`POST /api/v1/organizations/<org>/invitations`). */
  async invite(orgId: string, username: string, role = 'member'): Promise<Answer> {
    return this.json('POST', `/api/v1/organizations/${orgId}/invitations`, { username, role });
  }

  /** This person's pending invitation into `orgId`, if any. */
  async invitationInto(orgId: string): Promise<{ id: string; org_id: string; role: string } | undefined> {
    const received = await this.json('GET', '/api/v1/invitations');
    return (received.body.invitations as Array<{ id: string; org_id: string; role: string }>).find((one) => one.org_id === orgId);
  }

  /** Sends JSON with this person's cookies (no Origin, as a program would). */
  async json(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { cookie, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  /** Creates an organization; returns its id. */
  async createOrg(name: string): Promise<string> {
    const answer = await this.json('POST', '/api/v1/organizations', { name });
    if (answer.status !== 201) throw new Error(`create org: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.id as string;
  }

  /**
   * Makes `username` a member of `orgId` the only way there is: invites it, then accepts as its
   * account (registered in this file). A refused invitation or acceptance is answered as it came;
   * a joined member as the former direct add answered, 201 with `{user_id?, username, role}`.
   */
  async addMember(orgId: string, username: string, role = 'member'): Promise<Answer> {
    const invited = await this.invite(orgId, username, role);
    if (invited.status !== 202) return invited;
    const name = username.trim().toLowerCase();
    const invitee = registered.get(`${this.base}|${name}`) ?? registered.get(name);
    const invitation = invitee && (await invitee.invitationInto(orgId));
    if (!invitee || !invitation) return invited;
    const accepted = await invitee.json('POST', `/api/v1/invitations/${invitation.id}/accept`);
    if (accepted.status !== 200) return accepted;
    return { ...accepted, status: 201, body: { username: name, role: accepted.body.role } };
  }

  /** Runs the Mattermost setup for `orgId`. */
  async setup(orgId?: string, connector = 'mattermost'): Promise<Answer> {
    return this.json('POST', `/api/v1/integrations/${connector}/setup`, orgId ? { org_id: orgId } : {});
  }

  /** Makes a link token for `orgId`. */
  async linkToken(orgId?: string, connector = 'mattermost'): Promise<Answer> {
    return this.json('POST', `/api/v1/integrations/${connector}/link-tokens`, orgId ? { org_id: orgId } : {});
  }
}

/** The installation id inside a manifest link. */
export function installationIdOf(manifestLink: string): string {
  return /\/mattermost\/([^/]+)\/manifest\.json$/.exec(manifestLink)![1]!;
}

/** A Mattermost user, as `expand: {acting_user: "summary"}` gives it. */
export interface MattermostUser {
  id: string;
  username: string;
}

/** A Mattermost-looking user id (26 lower-case base32 characters). */
export function mattermostId(seed: string): string {
  return (seed.replace(/[^a-z0-9]/g, '') + 'x'.repeat(26)).slice(0, 26);
}

/**
 * Signs a call token the way the Mattermost Apps framework does: HS256 over the app's secret,
 * `exp` 15 minutes ahead, `acting_user_id`. `overrides` bend it for the rejection tests.
 */
export async function mattermostJwt(secret: string, actingUserId: string | undefined, clock: Clock, overrides: { exp?: number; iat?: number; nbf?: number; alg?: string; aud?: string | string[] } = {}): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  const jwt = new SignJWT(actingUserId !== undefined ? { acting_user_id: actingUserId } : {}).setProtectedHeader({ alg: overrides.alg ?? 'HS256', typ: 'JWT' }).setExpirationTime(overrides.exp ?? now + 15 * 60);
  if (overrides.iat !== undefined) jwt.setIssuedAt(overrides.iat);
  if (overrides.nbf !== undefined) jwt.setNotBefore(overrides.nbf);
  if (overrides.aud !== undefined) jwt.setAudience(overrides.aud);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** A CallRequest body as Mattermost sends it. */
export function callRequest(path: string, user: MattermostUser | undefined, extra: { values?: Record<string, unknown>; context?: Record<string, unknown>; raw_command?: string } = {}): Record<string, unknown> {
  return {
    path,
    expand: { acting_user: 'summary' },
    context: {
      app_id: 'pairgate',
      location: '/command',
      mattermost_site_url: 'https://chat.example.test',
      ...(user ? { acting_user: { id: user.id, username: user.username, roles: 'system_user' } } : {}),
      ...extra.context,
    },
    ...(extra.values ? { values: extra.values } : {}),
    ...(extra.raw_command ? { raw_command: extra.raw_command } : {}),
  };
}

/** Plays Mattermost: calls `/mattermost/<id>/<call>` with a signed JWT over a real socket. */
export class FakeMattermost {
  constructor(readonly base: string, readonly clock: Clock, readonly siteUrl = 'https://chat.example.test') {}

  /** A call with a token of `secret`; `token` replaces the whole header value when given. */
  async call(installationId: string, call: string, secret: string, user: MattermostUser | undefined, extra: Parameters<typeof callRequest>[2] = {}, token?: string): Promise<Answer> {
    const jwt = token ?? (await mattermostJwt(secret, user?.id, this.clock));
    const body = callRequest(`/mattermost/${installationId}/${call}`, user, { ...extra, context: { mattermost_site_url: this.siteUrl, ...extra.context } });
    const response = await fetch(`${this.base}/mattermost/${installationId}/${call}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${jwt}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  }

  /** The on_install call with the bot's id and token (expand app: all). */
  async install(installationId: string, secret: string, admin: MattermostUser, botToken = 'bot-token-0123456789abcdefghij'): Promise<Answer> {
    return this.call(installationId, 'install', secret, admin, { context: { bot_user_id: mattermostId('botpairgate'), bot_access_token: botToken, app: { app_id: 'pairgate', bot_user_id: mattermostId('botpairgate'), bot_access_token: botToken } } });
  }
}

/**
 * Calls a signed webhook URL from a setup (`install_url`, `command_url`) on the server at `base`
 * (whatever address the URL names), signed with `secret` at `clock`'s time.
 */
export async function webhookCall(base: string, url: string, secret: string, body: unknown, clock: Clock): Promise<Answer> {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(clock.now() / 1000));
  const response = await fetch(`${base}${new URL(url).pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) },
    body: raw,
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

/**
 * Sets `connector` up in `orgId` (as `admin`) and installs it as its chat server would (the signed
 * install callback), at `clock`'s time: link tokens are made only where a connector is installed.
 * Returns the installation id and its secret.
 */
export async function installConnector(base: string, admin: Member, orgId: string, connector: 'mattermost' | 'webhook' = 'mattermost', clock: Clock = systemClock): Promise<{ id: string; secret: string }> {
  const setup = await admin.setup(orgId, connector);
  if (setup.status !== 201) throw new Error(`setup: ${setup.status} ${JSON.stringify(setup.body)}`);
  if (connector === 'webhook') {
    const id = /\/webhook\/([^/]+)\/install$/.exec(setup.body.install_url)![1]!;
    const installed = await webhookCall(base, setup.body.install_url, setup.body.signing_secret, { site_url: 'https://bot.example.test' }, clock);
    if (installed.status !== 200) throw new Error(`webhook install: ${installed.status} ${JSON.stringify(installed.body)}`);
    return { id, secret: setup.body.signing_secret };
  }
  const id = installationIdOf(setup.body.manifest_link);
  const installed = await new FakeMattermost(base, clock).install(id, setup.body.jwt_secret, { id: mattermostId(`admin${orgId.toLowerCase()}`), username: 'admin' });
  if (installed.status !== 200) throw new Error(`mattermost install: ${installed.status} ${JSON.stringify(installed.body)}`);
  return { id, secret: setup.body.jwt_secret };
}

/** An install-door server on a manual clock with one organization of an admin and a member (see `useOrgOfTwo`). */
export interface OrgOfTwo {
  readonly t: TestApp;
  readonly base: string;
  readonly clock: ManualClock;
  readonly admin: Member;
  readonly member: Member;
  readonly orgId: string;
}

/**
 * Starts, in the `describe` it is called in, an install-door server on a manual clock where
 * `<prefix>-admin` made the organization `orgName` and added `<prefix>-member`; with `mattermost`,
 * the admin also installed the Mattermost connector. Read its fields inside the tests.
 */
export function useOrgOfTwo(prefix: string, orgName: string, options: { mattermost?: boolean } = {}): OrgOfTwo {
  let made: OrgOfTwo | undefined;
  beforeAll(async () => {
    const clock = new ManualClock(Date.now());
    const t = await createTestApp(INSTALL_ENV, { clock });
    const base = await t.listen();
    const admin = await Member.create(base, `${prefix}-admin`);
    const member = await Member.create(base, `${prefix}-member`);
    const orgId = await admin.createOrg(orgName);
    expect((await admin.addMember(orgId, `${prefix}-member`)).status).toBe(201);
    if (options.mattermost) await installConnector(base, admin, orgId, 'mattermost', clock);
    made = { t, base, clock, admin, member, orgId };
  });
  afterAll(() => made?.t.close());
  return {
    get t() {
      return made!.t;
    },
    get base() {
      return made!.base;
    },
    get clock() {
      return made!.clock;
    },
    get admin() {
      return made!.admin;
    },
    get member() {
      return made!.member;
    },
    get orgId() {
      return made!.orgId;
    },
  };
}
