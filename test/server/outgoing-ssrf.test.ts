import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { initBoxIdentity } from '../../src/doors/registry/box-identity.js';
import { signAnnouncement } from '../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { httpFrom } from '../helpers/http-from.js';
import { FormClient, authRequest, getJson, postJson } from '../doors/access/form-client.js';
import { FakeMattermost, INSTALL_ENV, Member, installationIdOf, mattermostId, webhookCall } from '../doors/install/install-helpers.js';

/**
 * Server-side request forgery, reviewed once for every door (docs/architecture.md, "Outgoing
 * connections"): the server's only outgoing HTTP call is the support origin's publish on the relay,
 * to the operator's PLEXUS_PAIRING_URL. Every URL or host a caller sends (an app's returnURL,
 * authUrl and serviceInfo, a chat's site URL, a relay's origin, a box's origins, a supporter's
 * avatar) is kept, shown or redirected to, and never connected to by the server. This suite sends
 * all of them pointing at a listener on loopback, in the forms that slip past naive checks, runs
 * the flows that follow (a decision, its delivery, chat commands, a relay redirect), and expects
 * the listener to see no connection, and the process to open no client socket but the test's own
 * to the server. A door that starts delivering to a caller's URL fails here until it goes through
 * a guard that refuses internal addresses after resolution.
 */

/** Client sockets the process opened, and where each ended up ('' while it never connected). */
const opened: { socket: Socket; remote: string }[] = [];
/** Hosts fetch (undici) was about to connect to. */
const undiciTargets: string[] = [];

const onSocket = (message: unknown): void => {
  const entry = { socket: (message as { socket: Socket }).socket, remote: '' };
  opened.push(entry);
  entry.socket.once('connect', () => { entry.remote = `${entry.socket.remoteAddress}:${entry.socket.remotePort}`; });
};
const onUndici = (message: unknown): void => {
  const params = (message as { connectParams?: { hostname?: string; port?: string | number } }).connectParams;
  undiciTargets.push(`${params?.hostname ?? '?'}:${String(params?.port ?? '')}`);
};

/** A TCP listener that counts the connections it is offered. */
async function canary(host: string): Promise<{ server: Server; port: number; hits: string[] } | undefined> {
  const hits: string[] = [];
  const server = createServer((socket) => {
    hits.push(`${socket.remoteAddress}:${socket.remotePort}`);
    socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
  } catch {
    return undefined; // no IPv6 loopback here
  }
  return { server, port: (server.address() as { port: number }).port, hits };
}

describe('no caller-supplied URL makes the server connect (real sockets)', () => {
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let base: string;
  let serverPort: string;
  let v4: NonNullable<Awaited<ReturnType<typeof canary>>>;
  let v6: Awaited<ReturnType<typeof canary>>;
  /** The canary's address in every spelling that reaches loopback. */
  let targets: string[];

  beforeAll(async () => {
    v4 = (await canary('127.0.0.1'))!;
    v6 = await canary('::1');
    const p = v4.port;
    targets = [
      `http://127.0.0.1:${p}/`, `https://127.0.0.1:${p}/`, `http://localhost:${p}/`, `http://2130706433:${p}/`,
      `http://0x7f.1:${p}/`, `http://0177.0.0.1:${p}/`, `http://[::ffff:127.0.0.1]:${p}/`, `http://[::ffff:7f00:1]:${p}/`,
      // The unspecified addresses: Linux connects them to loopback, and a check for "127." or "::1" misses them.
      `http://0.0.0.0:${p}/`,
      ...(v6 ? [`http://[::1]:${v6.port}/`, `http://[::]:${v6.port}/`] : []),
    ];
    t = await createTestApp({
      ...INSTALL_ENV,
      PAIRGATE_RATE_LIMIT_MAX: '100000',
      PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000',
      // An auth page the operator trusts on the canary, so the app's authUrl there is taken.
      PAIRGATE_ACCESS_TRUSTED_AUTH_URLS: `http://127.0.0.1:${p}/auth`,
      // Loopback origins are taken by the relay, so that its later steps run too.
      PAIRGATE_RELAY_ALLOW_HTTP: 'true',
      PAIRGATE_RELAY_CREATE_MAX: '1000',
      PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP: '1000',
      PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '1000',
      PLEXUS_AUTH_USER: 'support',
      PLEXUS_AUTH_PASS: '1234',
    }, { clock });
    base = await t.listen();
    serverPort = new URL(base).port;
    subscribe('net.client.socket', onSocket);
    subscribe('undici:client:beforeConnect', onUndici);
  });
  afterAll(async () => {
    unsubscribe('net.client.socket', onSocket);
    unsubscribe('undici:client:beforeConnect', onUndici);
    await t?.close();
    v4?.server.close();
    v6?.server.close();
  });

  afterEach(async () => {
    // A delivery made after the answer (in the background) has this long to show up.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seen = {
      canaries: [...v4.hits, ...(v6?.hits ?? [])],
      sockets: opened.filter((entry) => !entry.remote.endsWith(`:${serverPort}`)).map((entry) => entry.remote || 'a socket that never connected'),
      fetches: undiciTargets.filter((target) => target !== `127.0.0.1:${serverPort}`),
    };
    // Each test is judged on its own connections.
    for (const list of [v4.hits, v6?.hits ?? [], opened, undiciTargets]) list.length = 0;
    expect(seen, 'connections to the canaries, client sockets and fetch targets other than the server').toEqual({ canaries: [], sockets: [], fetches: [] });
  });

  it('access: returnURL, authUrl, serviceInfo, referer and clientData, through a decision and its delivery', async () => {
    const statuses: number[] = [];
    for (const target of targets) {
      statuses.push((await postJson(`${base}/access`, authRequest({ returnURL: target, referer: target.slice(0, 200), serviceInfo: { name: 'x', access: target, api: target, register: target }, clientData: { 'app-web-auth:description': { type: 'note/txt', content: `[see](${target}) ![img](${target})` } } }))).status);
    }
    expect(statuses.every((status) => status === 201), String(statuses)).toBe(true);
    const created = await postJson(`${base}/access`, authRequest({ returnURL: targets[0], authUrl: `http://127.0.0.1:${v4.port}/auth`, serviceInfo: { name: 'x', access: targets[0] } }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = String(created.body.key);
    const user = new FormClient(base);
    await user.register('ssrf-access');
    const decided = await user.decide(key, 'accept');
    // Delivered by the redirect to the returnURL, which the browser follows, not the server.
    expect(decided.status).toBe(303);
    expect(decided.location).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${v4.port}/\\?`));
    const polled = await getJson(`${base}/access/${key}`);
    expect([200, 404]).toContain(polled.status);
  });

  it('install: a webhook\'s and a Mattermost server\'s site URL, then their commands', async () => {
    const admin = await Member.create(base, 'ssrf-admin');
    const orgId = await admin.createOrg('Canaries');
    const seen: string[] = [];
    for (const target of targets) {
      const hook = await admin.setup(orgId, 'webhook');
      clock.advance(1000);
      const hooked = await webhookCall(base, hook.body.install_url, hook.body.signing_secret, { site_url: target }, clock);
      seen.push(`hook ${hooked.status}`);
      const mm = await admin.setup(orgId, 'mattermost');
      const chat = new FakeMattermost(base, clock, target.replace(/\/$/, ''));
      const installed = await chat.install(installationIdOf(mm.body.manifest_link), mm.body.jwt_secret, { id: mattermostId('ssrfadmin'), username: 'admin' });
      if (installed.status === 200) {
        const token = (await admin.linkToken(orgId)).body.token as string;
        clock.advance(1000);
        seen.push('mm 200');
        const linked = await chat.call(installationIdOf(mm.body.manifest_link), 'link', mm.body.jwt_secret, { id: mattermostId('ssrfuser'), username: 'ssrf' }, { values: { token } });
        seen.push(`link ${linked.status}`);
      } else seen.push(`mm ${installed.status}`);
      clock.advance(1000);
      await webhookCall(base, hook.body.command_url, hook.body.signing_secret, { user_id: 'U1', text: 'status' }, clock);
    }
    // Every site URL was taken and the flows ran on: the guard below is not left with nothing to see.
    expect(seen.filter((step) => !step.endsWith(' 200')), String(seen)).toEqual([]);
  });

  it('relay: an origin URL, published then followed', async () => {
    for (const target of targets) {
      const published = await postJson(`${base}/relay/pairing/`, { url: `${target}pairing` });
      expect(published.status, target).toBe(200);
      if (published.status === 200) await fetch(String(published.body.pairing_url).replace(/^https?:\/\/[^/]+/, base), { redirect: 'manual' });
    }
  });

  it('registry: a box\'s local and tunnel origins, then /ping and /boxes', async () => {
    const box = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-ssrf-')), 'box'), { name: 'box' });
    for (const target of targets) {
      const raw = JSON.stringify({ fingerprint: box.fingerprint, local_origin: target, tunnel_origin: target, name: 'Canary' });
      clock.advance(1000);
      const r = await httpFrom('127.0.0.1', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: await signAnnouncement(box, raw, { now: clock.now() }) } });
      expect(r.status, target).toBe(200);
    }
    await getJson(`${base}/ping`);
    await fetch(`${base}/boxes`);
  });

  it('support: a supporter\'s avatar URL', async () => {
    for (const target of targets) {
      const created = await fetch(`${base}/session`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('support:1234').toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify({ supporter_name: 'Ada', supporter_avatar: target }) });
      // Pictures must be https URLs: the others are refused before anything is kept.
      expect(created.status, target).toBe(target.startsWith('https:') ? 201 : 400);
    }
  });
});
