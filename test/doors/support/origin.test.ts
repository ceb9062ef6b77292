import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';
import { missingProgram } from '../../helpers/system.js';
import { ADMIN, ADMIN_AUTH, freePort, json, postJson, ROOMY_MISSES, startOrigin, startRelay } from './helpers.js';

const AVATAR = 'https://avatars.githubusercontent.com/u/16852023?v=4';
const curlMissing = missingProgram('curl', 'the seed\'s exact curl call');
const pgMissing = await postgresMissing();

/** Runs curl (asynchronously: the server answers from this same process) and returns the status (printed last by -w) and the body. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout: out } = await promisify(execFile)('curl', [...args, '-w', '\n%{http_code}'], { encoding: 'utf8', timeout: 15_000 });
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

const session = (origin: TestApp, body: Record<string, unknown>, auth = ADMIN_AUTH) => postJson(`${origin.url}/session`, body, auth ? { authorization: auth } : {});

describe('support origin over real sockets', () => {
  let relay: TestApp;
  let origin: TestApp;
  let sdk: SupportOriginClient;
  beforeAll(async () => {
    relay = await startRelay();
    // Many look-ups from one address in this suite (the race alone makes 20, 19 of them misses): a
    // roomier per-minute limit and miss budget.
    origin = await startOrigin(relay.url, { PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '600', ...ROOMY_MISSES });
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it.skipIf(Boolean(curlMissing))(`the seed's exact curl call -> 201 with the exact keys${curlMissing ? ` (skipped: ${curlMissing})` : ''}`, async () => {
    const { status, body } = await curl([
      '-ks', `${origin.url}/session`,
      '-u', 'support:1234',
      '-F', 'id=helping-joe',
      '-F', 'ttl=3600',
      '-F', 'username=admin',
      '-F', 'password=foobaz',
      '-F', 'supporter_name=Thorsten',
      '-F', `supporter_avatar=${AVATAR}`,
    ]);
    expect(status).toBe(201);
    const created = JSON.parse(body);
    expect(Object.keys(created).sort()).toEqual(['AgentConfig', 'AgentMSH', 'ExpiresAt', 'ID', 'PairingCode', 'PairingURL', 'PairingUrl', 'SessionURL']);
    expect(Object.keys(created.AgentConfig).sort()).toEqual(['MeshID', 'MeshIDHex', 'MeshName', 'MeshServer', 'MeshType', 'ServerID']);
    expect(created.ID).toBe('helping-joe');
    expect(created.SessionURL).toBe(`${origin.url}/session/helping-joe`);
    const token = /\/config\/helping-joe:([A-Za-z]{20})$/.exec(created.AgentMSH)?.[1];
    expect(token, created.AgentMSH).toBeDefined();
    expect(created.AgentConfig.MeshServer).toBe(`${origin.url.replace('http', 'ws')}/agent/helping-joe:${token}`);
    expect(created.AgentConfig.MeshType).toBe(2);
    expect(created.AgentConfig.ServerID).toMatch(/^[0-9A-F]{96}$/);
    expect(created.AgentConfig.MeshIDHex).toMatch(/^0x[0-9A-F]{96}$/);
    // MeshID is MeshCentral's spelling of the same 48 bytes.
    const bytes = Buffer.from(created.AgentConfig.MeshID.replace('mesh//', '').replace(/@/g, '+').replace(/\$/g, '/'), 'base64');
    expect(`0x${bytes.toString('hex').toUpperCase()}`).toBe(created.AgentConfig.MeshIDHex);
    expect(created.AgentConfig.MeshName).toMatch(/^pairgate\/helping-joe\//);
    expect(Math.abs(Date.parse(created.ExpiresAt) - Date.now() - 3_600_000)).toBeLessThan(10_000);
    expect(created.PairingCode).toMatch(/^[1-9a-np-z]{6}$/);
    expect(created.PairingURL).toBe(`${relay.url}/pairing/${created.PairingCode}`);
    expect(created.PairingUrl).toBe(created.PairingURL);

    // Relay round trip: the pairing URL redirects to this origin, which shows who asks.
    const redirect = await fetch(created.PairingURL, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`${origin.url}/pairing/${created.PairingCode}`);
    const info = await json(fetch(redirect.headers.get('location')!, { headers: { accept: 'application/json' } }));
    expect(info).toEqual({
      AgentMSH: created.AgentMSH,
      ExpiresAt: created.ExpiresAt,
      CompanyName: 'The great PC support',
      CompanyLogo: 'https://img.example/logo.png',
      SupporterName: 'Thorsten',
      SupporterAvatar: AVATAR,
    });
    // The agent configuration file of AgentMSH.
    const msh = await fetch(created.AgentMSH);
    expect(msh.status).toBe(200);
    // Plain text (key=value lines), as the OpenAPI document says, not JSON.
    expect(msh.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await msh.text()).toContain(`MeshServer=${created.AgentConfig.MeshServer}\n`);
    expect((await fetch(created.AgentMSH.replace(token!, 'x'.repeat(20)))).status).toBe(404);

    // The session's own login (username/password of the form) may read it; the id is then taken.
    const own = await fetch(`${origin.url}/session/helping-joe`, { headers: { authorization: `Basic ${Buffer.from('admin:foobaz').toString('base64')}` } });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ ID: 'helping-joe', State: 'waiting', Pairing: true });
    const wrongOwn = await fetch(`${origin.url}/session/helping-joe`, { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
    expect(wrongOwn.status).toBe(401);
    const again = await curl(['-ks', `${origin.url}/session`, '-u', 'support:1234', '-F', 'id=helping-joe', '-F', 'supporter_name=T', '-F', `supporter_avatar=${AVATAR}`]);
    expect(again.status).toBe(400);
    expect(JSON.parse(again.body)).toEqual({ Error: 'Bad Request', Description: expect.stringContaining('in use'), Code: 'session_id_taken' });
    // A file part is refused (fields only).
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-curl-'));
    writeFileSync(join(dir, 'a.png'), 'png');
    const file = await curl(['-ks', `${origin.url}/session`, '-u', 'support:1234', '-F', 'id=with-file', '-F', 'supporter_name=T', '-F', `supporter_avatar=@${join(dir, 'a.png')}`]);
    expect(file.status).toBe(413);
    expect(JSON.parse(file.body)).toMatchObject({ Error: 'Payload Too Large', Code: expect.any(String) });
  });

  it('accepts urlencoded and JSON bodies too (SDK, three encodings)', async () => {
    for (const encoding of ['json', 'form', 'multipart'] as const) {
      const created = await sdk.createSession({ id: `enc-${encoding}`, ttl: 600, supporterName: 'Ada', supporterAvatar: AVATAR }, encoding);
      expect(created.ID).toBe(`enc-${encoding}`);
      expect(created.PairingCode).toMatch(/^[1-9a-np-z]{6}$/);
      expect(created.PairingUrl).toBe(created.PairingURL);
    }
    const listed = await sdk.listSessions();
    expect(listed.map((s) => s.ID)).toEqual(expect.arrayContaining(['enc-json', 'enc-form', 'enc-multipart']));
  });

  it('401 with WWW-Authenticate for missing or wrong credentials', async () => {
    for (const auth of ['', `Basic ${Buffer.from('support:wrong').toString('base64')}`, `Basic ${Buffer.from('nobody:1234').toString('base64')}`, 'Bearer 1234', 'Basic !!!']) {
      const response = await session(origin, { id: 'x', supporter_name: 'A', supporter_avatar: AVATAR }, auth);
      expect(response.status, auth).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="pairgate support"/);
      expect(await response.json()).toEqual({ Error: 'Unauthorized', Description: expect.any(String), Code: 'unauthorized' });
    }
    expect((await fetch(`${origin.url}/session`)).status).toBe(401);
    expect((await fetch(`${origin.url}/session/enc-json`, { method: 'DELETE' })).status).toBe(401);
    // The OpenAPI document says so: every session route takes Basic credentials.
    const doc = (await origin.app.inject('/docs/json')).json();
    for (const [path, method] of [['/session', 'post'], ['/session', 'get'], ['/session/{id}', 'get'], ['/session/{id}', 'delete']] as const) {
      expect(doc.paths[path][method].security, `${method} ${path}`).toEqual([{ basicAuth: [] }]);
    }
  });

  it('400s: missing supporter fields, bad ttl, bad id, bad avatar, unknown fields', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 'no-name', supporter_avatar: AVATAR }, 'supporter_required'],
      [{ id: 'no-avatar', supporter_name: 'A' }, 'supporter_required'],
      [{ id: 'blank', supporter_name: '  ', supporter_avatar: AVATAR }, 'supporter_required'],
      [{ id: 'ttl-text', ttl: 'soon', supporter_name: 'A', supporter_avatar: AVATAR }, 'validation_failed'],
      [{ id: 'ttl-zero', ttl: 0, supporter_name: 'A', supporter_avatar: AVATAR }, 'validation_failed'],
      [{ id: 'ttl-neg', ttl: -5, supporter_name: 'A', supporter_avatar: AVATAR }, 'validation_failed'],
      [{ id: 'ttl-frac', ttl: 1.5, supporter_name: 'A', supporter_avatar: AVATAR }, 'validation_failed'],
      [{ id: 'ttl-huge', ttl: 10_000_000, supporter_name: 'A', supporter_avatar: AVATAR }, 'ttl_invalid'],
      [{ id: 'a:b', supporter_name: 'A', supporter_avatar: AVATAR }, 'validation_failed'],
      [{ id: '../x', supporter_name: 'A', supporter_avatar: AVATAR }, 'validation_failed'],
      // The confirmation page would show "Bank of america" for this one, and a name split in two.
      [{ id: 'rlo', supporter_name: 'Bank of \u202Eacirema\u202C', supporter_avatar: AVATAR }, 'supporter_name_invalid'],
      [{ id: 'zwsp', supporter_name: 'Ali\u200Bce', supporter_avatar: AVATAR }, 'supporter_name_invalid'],
      [{ id: 'newline', supporter_name: 'Alice\nfrom your bank', supporter_avatar: AVATAR }, 'supporter_name_invalid'],
      [{ id: 'av', supporter_name: 'A', supporter_avatar: 'javascript:alert(1)' }, 'supporter_avatar_invalid'],
      [{ id: 'av-http', supporter_name: 'A', supporter_avatar: 'http://avatars.example/a.png' }, 'supporter_avatar_invalid'],
      [{ id: 'extra', supporter_name: 'A', supporter_avatar: AVATAR, admin: true }, 'validation_failed'],
      [{ id: 'half', supporter_name: 'A', supporter_avatar: AVATAR, username: 'u' }, 'credentials_incomplete'],
      // An empty password (or name) would be a login for anyone who knows the other half.
      [{ id: 'empty-pass', supporter_name: 'A', supporter_avatar: AVATAR, username: 'u', password: '' }, 'credentials_incomplete'],
      [{ id: 'empty-user', supporter_name: 'A', supporter_avatar: AVATAR, username: ' ', password: 'p' }, 'credentials_incomplete'],
    ];
    for (const [body, code] of cases) {
      const response = await session(origin, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(await response.json(), JSON.stringify(body)).toEqual({ Error: 'Bad Request', Description: expect.any(String), Code: code });
    }
    const bad = await fetch(`${origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' }, body: '{"id":' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ Error: 'Bad Request', Code: 'invalid_json' });
  });

  it('pairing info: 404 {Error, Description} for unknown codes, 400 for malformed ones', async () => {
    const missing = await fetch(`${origin.url}/pairing/zzzzzz`, { headers: { accept: 'application/json' } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ Error: 'Not Found', Description: 'Code not found', Code: 'code_not_found' });
    const malformed = await fetch(`${origin.url}/pairing/ab`, { headers: { accept: 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ Error: 'Bad Request', Code: 'code_wrong_length' });
  });

  it('confirm: the code is spent, the answer carries the credential, the supporter sees the state at once', async () => {
    const created = await sdk.createSession({ id: 'confirm-me', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const waiting = sdk.getSession('confirm-me', { waitSeconds: 20, since: (await sdk.getSession('confirm-me')).Version });
    const confirmed = await postJson(`${origin.url}/pairing/${created.PairingCode!.toUpperCase()}/confirm`, {});
    expect(confirmed.status).toBe(200);
    const body = await json(confirmed);
    expect(body).toMatchObject({ SessionID: 'confirm-me', State: 'confirmed', MeshServer: created.AgentConfig.MeshServer, SupporterName: 'Thorsten', CompanyName: 'The great PC support' });
    expect(body.AgentCredential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await waiting).State).toBe('confirmed');
    // Spent: neither the info nor a second confirmation finds it.
    expect((await fetch(`${origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'application/json' } })).status).toBe(404);
    expect((await postJson(`${origin.url}/pairing/${created.PairingCode}/confirm`, {})).status).toBe(404);
    // Nothing secret in the logs.
    const logs = origin.logs.join('');
    for (const secret of [created.PairingCode!, body.AgentCredential, created.AgentMSH.split(':').pop()!]) expect(logs).not.toContain(secret);
  });

  it('a code is confirmed once when 20 agents race', async () => {
    const created = await sdk.createSession({ id: 'race', supporterName: 'T', supporterAvatar: AVATAR });
    const answers = await Promise.all(Array.from({ length: 20 }, () => postJson(`${origin.url}/pairing/${created.PairingCode}/confirm`, {})));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 404 || s === 409)).toBe(true);
  });

  it('decline: the code is spent and the session shows declined', async () => {
    const created = await sdk.createSession({ id: 'decline-me', supporterName: 'T', supporterAvatar: AVATAR });
    const declined = await postJson(`${origin.url}/pairing/${created.PairingCode}/confirm`, { Decision: 'decline' });
    expect(declined.status).toBe(403);
    expect(await declined.json()).toMatchObject({ Error: 'Forbidden', Code: 'declined' });
    expect((await sdk.getSession('decline-me')).State).toBe('declined');
    expect((await postJson(`${origin.url}/pairing/${created.PairingCode}/confirm`, {})).status).toBe(404);
  });

  it('a code confirmed wrongly too often is burned', async () => {
    const created = await sdk.createSession({ id: 'burn-me', supporterName: 'T', supporterAvatar: AVATAR });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await postJson(`${origin.url}/pairing/${created.PairingCode}/confirm`, { Decision: 'maybe' })).status);
    expect(statuses).toEqual([400, 400, 400, 400, 403]);
    // A form post without this browser's CSRF token is a wrong confirmation too; the code is gone by now.
    const good = await postJson(`${origin.url}/pairing/${created.PairingCode}/confirm`, { Decision: 'accept' });
    expect(good.status).toBe(404);
    const other = await sdk.createSession({ id: 'csrf-me', supporterName: 'T', supporterAvatar: AVATAR });
    const forged = await fetch(`${origin.url}/pairing/${other.PairingCode}/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=accept&_csrf=forged' });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('did not come from this site');
    expect((await sdk.getSession('csrf-me')).State).toBe('waiting');
  });

  it('confirm takes JSON, or a form (urlencoded or multipart) with this browser\'s CSRF token; other bodies, or none, are 415', async () => {
    const created = await sdk.createSession({ id: 'csrf-types', supporterName: 'T', supporterAvatar: AVATAR });
    const confirmUrl = `${origin.url}/pairing/${created.PairingCode}/confirm`;
    // What another site's page can send by itself: no effect on the code or the session.
    const forged = new FormData();
    forged.set('decision', 'accept');
    const multipart = await fetch(confirmUrl, { method: 'POST', body: forged });
    expect(multipart.status).toBe(403);
    expect(await multipart.text()).toContain('did not come from this site');
    for (const init of [
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'decision=accept' },
      { method: 'POST' },
      { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<decision>accept</decision>' },
    ] as RequestInit[]) {
      const response = await fetch(confirmUrl, init);
      expect(response.status, JSON.stringify(init)).toBe(415);
      expect(await response.json()).toEqual({ Error: 'Unsupported Media Type', Description: expect.any(String), Code: 'unsupported_media_type' });
    }
    expect((await sdk.getSession('csrf-types')).State).toBe('waiting');
    // The page's own form, sent as multipart with the cookie and field the page handed out, confirms.
    const page = await fetch(`${origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'text/html' } });
    const cookie = /pg_csrf=[^;]+/.exec(page.headers.get('set-cookie') ?? '')?.[0];
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
    expect(cookie && token).toBeTruthy();
    const form = new FormData();
    form.set('decision', 'accept');
    form.set('_csrf', token!);
    // The same cookie and field posted by a sibling subdomain (which can plant the cookie): the
    // browser says where the form comes from, and that is refused.
    const sibling = await fetch(confirmUrl, { method: 'POST', headers: { cookie: cookie!, 'sec-fetch-site': 'same-site' }, body: form });
    expect(sibling.status).toBe(403);
    expect((await sdk.getSession('csrf-types')).State).toBe('waiting');
    const confirmed = await fetch(confirmUrl, { method: 'POST', headers: { cookie: cookie!, 'sec-fetch-site': 'same-origin' }, body: form, redirect: 'manual' });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toMatch(/^\/support\/csrf-types:[A-Za-z]{20}#credential=[A-Za-z0-9_-]{43}$/);
    expect((await sdk.getSession('csrf-types')).State).toBe('confirmed');
  });

  it('the page\'s confirmation answers 303 to the session page (credential in the fragment only); a re-post of the spent code is the clear 404 page', async () => {
    const created = await sdk.createSession({ id: 'prg', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const confirmUrl = `${origin.url}/pairing/${created.PairingCode}/confirm`;
    const page = await fetch(`${origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'text/html' } });
    const html = await page.text();
    // Keyboard users start on the heading (no button has the focus: keyjacking), one Tab from
    // Confirm; a screen reader reads the question with it.
    expect(html).toMatch(/<h1 tabindex="-1" autofocus>/);
    expect(html).not.toMatch(/<button[^>]*autofocus/);
    expect(html).toMatch(/<button type="submit" name="decision" value="accept" aria-describedby="question question-note">Confirm<\/button>/);
    const cookie = /pg_csrf=[^;]+/.exec(page.headers.get('set-cookie') ?? '')?.[0];
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    const post = () => fetch(confirmUrl, {
      method: 'POST',
      headers: { cookie: cookie!, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `decision=accept&_csrf=${token}`,
      redirect: 'manual',
    });
    const confirmed = await post();
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('cache-control')).toBe('no-store');
    const location = new URL(confirmed.headers.get('location')!, origin.url);
    const ref = created.AgentMSH.split('/config/')[1]!;
    expect(location.pathname).toBe(`/support/${ref}`);
    expect(location.search).toBe('');
    const credential = /^#credential=([A-Za-z0-9_-]{43})$/.exec(location.hash)?.[1];
    expect(credential).toBeTruthy();
    expect((await sdk.getSession('prg')).State).toBe('confirmed');

    // The session page: no credential in it, the channel path; reloadable.
    const sessionPage = await fetch(`${origin.url}${location.pathname}`, { headers: { accept: 'text/html' } });
    expect(sessionPage.status).toBe(200);
    const body = await sessionPage.text();
    expect(body).toContain(`data-channel="/agent/${ref}"`);
    expect(body).not.toContain(credential!);
    expect(sessionPage.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(body).not.toMatch(/<script(?![^>]*\bsrc=)/);
    // A wrong token finds nothing, and says the same as an ended session.
    expect((await fetch(`${origin.url}/support/prg:${'x'.repeat(20)}`)).status).toBe(404);

    // What a reload of the confirmation's answer used to do: post the spent code again. The page
    // says the code was used and where the session is, not to ask for a new code.
    const again = await post();
    expect(again.status).toBe(404);
    const againPage = await again.text();
    expect(againPage).toContain('<h1>This code was already used</h1>');
    expect(againPage).toContain('If you came back here from your support session, it is on the next page: press Forward');
    // A code never issued still gets the plain answer.
    const never = await fetch(`${origin.url}/pairing/zzzzzz`, { headers: { accept: 'text/html' } });
    expect(await never.text()).toContain('No session has this code, or it has expired. Ask your supporter for a new code.');

    // The session works with the credential of the fragment; once ended, its page says so plainly.
    const { connectAgent } = await import('../../../src/sdk/support.js');
    const agent = await connectAgent(`${origin.url.replace(/^http/, 'ws')}/agent/${ref}`, credential!);
    expect((await sdk.getSession('prg')).State).toBe('connected');
    agent.end();
    await expect.poll(async () => (await fetch(`${origin.url}${location.pathname}`)).status).toBe(404);
    expect(await (await fetch(`${origin.url}${location.pathname}`)).text()).toContain('This support session has ended');
    // Nothing secret in the logs.
    const logs = origin.logs.join('');
    for (const secret of [credential!, ref.split(':')[1]!]) expect(logs).not.toContain(secret);
  });

  it('declining on the page answers 303 to a reloadable declined page that names no session; a re-post of the spent code is the clear 404 page', async () => {
    const created = await sdk.createSession({ id: 'prg-decline', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const confirmUrl = `${origin.url}/pairing/${created.PairingCode}/confirm`;
    const page = await fetch(`${origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'text/html' } });
    const html = await page.text();
    const cookie = /pg_csrf=[^;]+/.exec(page.headers.get('set-cookie') ?? '')?.[0];
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    const post = () => fetch(confirmUrl, {
      method: 'POST',
      headers: { cookie: cookie!, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `decision=decline&_csrf=${token}`,
      redirect: 'manual',
    });
    const declined = await post();
    expect(declined.status).toBe(303);
    expect(declined.headers.get('location')).toBe('/support/declined');
    expect((await sdk.getSession('prg-decline')).State).toBe('declined');

    // The page it leads to, and its reload: 200, the page policy, nothing of the session.
    const ref = created.AgentMSH.split('/config/')[1]!;
    for (let i = 0; i < 2; i++) {
      const shown = await fetch(`${origin.url}/support/declined`, { headers: { accept: 'text/html' } });
      expect(shown.status).toBe(200);
      expect(shown.headers.get('content-type')).toMatch(/^text\/html/);
      expect(shown.headers.get('content-security-policy')).toContain("default-src 'self'");
      const body = await shown.text();
      expect(body).toContain('<h1>Declined</h1>');
      expect(body).toContain('Nobody was given access.');
      for (const secret of ['prg-decline', ref.split(':')[1]!, created.PairingCode!, 'Thorsten']) expect(body).not.toContain(secret);
    }

    // What a reload of the decline's answer used to do: post the spent code again.
    const again = await post();
    expect(again.status).toBe(404);
    expect(await again.text()).toContain('This code was declined, so nobody was given access');
  });

  it('GET, list and DELETE a session; its code dies with it', async () => {
    const created = await sdk.createSession({ id: 'delete-me', supporterName: 'T', supporterAvatar: AVATAR });
    expect((await sdk.getSession('delete-me')).State).toBe('waiting');
    await sdk.deleteSession('delete-me');
    await expect(sdk.getSession('delete-me')).rejects.toMatchObject({ status: 404, code: 'session_not_found' });
    expect((await sdk.listSessions()).map((s) => s.ID)).not.toContain('delete-me');
    expect((await fetch(`${origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'application/json' } })).status).toBe(404);
    // The id is free again.
    expect((await sdk.createSession({ id: 'delete-me', supporterName: 'T', supporterAvatar: AVATAR })).ID).toBe('delete-me');
  });

  it('the session channel: wrong credential refused; agent and supporter chat; DELETE ends both', async () => {
    const { connectAgent, confirmPairing } = await import('../../../src/sdk/support.js');
    const created = await sdk.createSession({ id: 'chat', supporterName: 'T', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('chat');
    expect((await supporter.next((e) => e.type === 'state')).state).toBe('waiting');
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    expect((await supporter.next((e) => e.type === 'state')).state).toBe('confirmed');
    await expect(connectAgent(confirmation.MeshServer, 'wrong')).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(connectAgent(confirmation.MeshServer.replace(/:[A-Za-z]{20}$/, ':' + 'x'.repeat(20)), confirmation.AgentCredential)).rejects.toMatchObject({ status: 404 });
    const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await connected;
    expect((await sdk.getSession('chat')).State).toBe('connected');
    // A second agent with the same credential is refused while the first is there.
    await expect(connectAgent(confirmation.MeshServer, confirmation.AgentCredential)).rejects.toMatchObject({ code: 'agent_already_connected' });
    const toAgent = agent.next((e) => e.type === 'message');
    supporter.say('Hello, can you see my cursor?');
    expect(await toAgent).toMatchObject({ from: 'supporter', text: 'Hello, can you see my cursor?' });
    const toSupporter = supporter.next((e) => e.type === 'message');
    agent.say('Yes!');
    expect(await toSupporter).toMatchObject({ from: 'agent', text: 'Yes!' });
    const report = supporter.next((e) => e.type === 'diagnostics');
    agent.sendDiagnostics({ hostname: 'pc-of-joe', interfaces: {} });
    expect((await report).report).toEqual({ hostname: 'pc-of-joe', interfaces: {} });
    const agentEnded = agent.next((e) => e.type === 'ended');
    const supporterEnded = supporter.next((e) => e.type === 'ended');
    await sdk.deleteSession('chat');
    expect((await agentEnded).reason).toBe('deleted');
    expect((await supporterEnded).reason).toBe('deleted');
    await expect(connectAgent(confirmation.MeshServer, confirmation.AgentCredential)).rejects.toMatchObject({ status: 404 });
  });

  it('the session ends at its TTL: both sockets are told, and its code is dead', async () => {
    const { connectAgent, confirmPairing } = await import('../../../src/sdk/support.js');
    const created = await sdk.createSession({ id: 'short-lived', ttl: 10, supporterName: 'T', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('short-lived');
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await supporter.next((e) => e.type === 'state' && e.state === 'connected');
    const started = Date.now();
    // A long-poll running across the expiry is answered with it.
    const polled = sdk.getSession('short-lived', { waitSeconds: 20, since: (await sdk.getSession('short-lived')).Version });
    const [a, s] = await Promise.all([agent.next((e) => e.type === 'ended', 15_000), supporter.next((e) => e.type === 'ended', 15_000)]);
    expect(a.reason).toBe('expired');
    expect(s.reason).toBe('expired');
    expect(Date.now() - started).toBeLessThan(11_000);
    expect(await polled).toMatchObject({ ID: 'short-lived', State: 'expired' });
    expect((await sdk.getSession('short-lived')).State).toBe('expired');
  }, 20_000);

  it('a supporter socket needs credentials', async () => {
    await sdk.createSession({ id: 'ws-auth', supporterName: 'T', supporterAvatar: AVATAR });
    const stranger = new SupportOriginClient({ baseUrl: origin.url, user: 'support', password: 'wrong' });
    await expect(stranger.attach('ws-auth')).rejects.toMatchObject({ status: 401 });
  });
});

describe('support origin: relay failures and code expiry', () => {
  it('relay down -> 502 {Error: "Bad Gateway"} and no half-made session', async () => {
    const deadPort = await freePort();
    const origin = await startOrigin(`http://127.0.0.1:${deadPort}`);
    try {
      const response = await session(origin, { id: 'half', ttl: 600, supporter_name: 'T', supporter_avatar: AVATAR });
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ Error: 'Bad Gateway', Description: expect.stringContaining('cannot be reached'), Code: 'relay_unreachable' });
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      expect(await sdk.listSessions()).toEqual([]);
      await expect(sdk.getSession('half')).rejects.toMatchObject({ status: 404 });
      // The id was released: trying again fails the same way, not with "id in use".
      expect((await session(origin, { id: 'half', supporter_name: 'T', supporter_avatar: AVATAR })).status).toBe(502);
    } finally {
      await origin.close();
    }
  });

  it('a relay that cannot be used says where it was looked for and what to check (PLEXUS_PAIRING_URL, the relay\'s API key)', async () => {
    const deadPort = await freePort();
    const down = await startOrigin(`http://127.0.0.1:${deadPort}`);
    try {
      const { Description } = await json(session(down, { supporter_name: 'T', supporter_avatar: AVATAR }));
      expect(Description).toBe(`The pairing relay at http://127.0.0.1:${deadPort}/pairing/ cannot be reached (ECONNREFUSED: nothing listens there); no session was created. `
        + 'Check that the relay runs there. PLEXUS_PAIRING_URL (on the supporter\'s pairgate server) must be the relay\'s publishing address, ending in /pairing/ (https://relay.example/pairing/, or https://host/relay/pairing/ for a relay beside other doors).');
    } finally {
      await down.close();
    }
    const relay = await startRelay({ PAIRGATE_RELAY_API_KEYS: 'relay-key-one' });
    // The usual slip: a relay alone serves at /, not at /relay.
    const misplaced = await startOrigin(`${relay.url}/relay`, { PAIRGATE_SUPPORT_RELAY_API_KEY: 'relay-key-one' });
    const keyless = await startOrigin(relay.url);
    const wrongKey = await startOrigin(relay.url, { PAIRGATE_SUPPORT_RELAY_API_KEY: 'not-the-key' });
    const keyed = await startOrigin(relay.url, { PAIRGATE_SUPPORT_RELAY_API_KEY: 'relay-key-one' });
    try {
      const notThere = await json(session(misplaced, { supporter_name: 'T', supporter_avatar: AVATAR }));
      expect(notThere).toMatchObject({ Code: 'relay_refused' });
      expect(notThere.Description).toMatch(new RegExp(`^The pairing relay at ${relay.url}/relay/pairing/ refused to give a code \\(HTTP 404\\); no session was created\\. Nothing publishes there: PLEXUS_PAIRING_URL .*ending in /pairing/`));
      const noKey = await json(session(keyless, { supporter_name: 'T', supporter_avatar: AVATAR }));
      expect(noKey).toMatchObject({ Code: 'relay_refused' });
      expect(noKey.Description).toMatch(/needs an API key.*; no session was created\. The relay takes sessions only with an API key: set PAIRGATE_SUPPORT_RELAY_API_KEY on the supporter's server to one of the relay's PAIRGATE_RELAY_API_KEYS\.$/);
      expect((await json(session(wrongKey, { supporter_name: 'T', supporter_avatar: AVATAR }))).Description).toMatch(/does not accept this server's key: PAIRGATE_SUPPORT_RELAY_API_KEY must be one of the relay's PAIRGATE_RELAY_API_KEYS\.$/);
      // With the key, the origin publishes: the relay's code is the session's.
      const created = await session(keyed, { supporter_name: 'T', supporter_avatar: AVATAR });
      expect(created.status).toBe(201);
      const { PairingCode } = (await created.json()) as { PairingCode: string };
      expect((await fetch(`${relay.url}/pairing/${PairingCode}`, { redirect: 'manual' })).headers.get('location')).toBe(`${keyed.url}/pairing/${PairingCode}`);
    } finally {
      for (const origin of [misplaced, keyless, wrongKey, keyed]) await origin.close();
      await relay.close();
    }
  });

  it('a relay that refuses (429) or answers nonsense -> 502 as well', async () => {
    const relay = await startRelay({ PAIRGATE_RELAY_CREATE_MAX: '1' });
    const origin = await startOrigin(relay.url);
    try {
      expect((await session(origin, { id: 'first', supporter_name: 'T', supporter_avatar: AVATAR })).status).toBe(201);
      const refused = await session(origin, { id: 'second', supporter_name: 'T', supporter_avatar: AVATAR });
      expect(refused.status).toBe(502);
      expect(await refused.json()).toMatchObject({ Error: 'Bad Gateway', Code: 'relay_refused', Description: expect.stringMatching(/no session was created\.$/) });
      // A new code refused: the message says the session is still there, and it is.
      const newCode = await fetch(`${origin.url}/session/first/code`, { method: 'POST', headers: { authorization: ADMIN_AUTH } });
      expect(newCode.status).toBe(502);
      expect(((await newCode.json()) as { Description: string }).Description).toMatch(/refused to give a code .*; the session is kept/);
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      expect((await sdk.getSession('first')).ID).toBe('first');
    } finally {
      await origin.close();
      await relay.close();
    }
    // An origin pointed at something that is not a relay (here: an origin's health page).
    const other = await startRelay();
    const confused = await startOrigin(`${other.url}/healthz?`, {});
    try {
      const response = await session(confused, { id: 'odd', supporter_name: 'T', supporter_avatar: AVATAR });
      expect(response.status).toBe(502);
    } finally {
      await confused.close();
      await other.close();
    }
  });

  it('the code never outlives the relay\'s (expires_in): a PLEXUS_PAIRING_TTL longer than the relay keeps codes is cut to it', async () => {
    const relay = await startRelay({ PAIRGATE_RELAY_CODE_TTL: '60' });
    const clock = new ManualClock(Date.now());
    const origin = await startOrigin(relay.url, { PLEXUS_PAIRING_TTL: '3600' }, { clock });
    try {
      const created = await json(session(origin, { id: 'relay-short', ttl: 7200, supporter_name: 'T', supporter_avatar: AVATAR }));
      const info = (code: string) => fetch(`${origin.url}/pairing/${code}`, { headers: { accept: 'application/json' } });
      const page = await (await fetch(`${origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'text/html' } })).text();
      // The confirmation page said an hour while the relay forgot the code after a minute.
      expect(page).toMatch(/The code expires <time[^>]*>in (1 minute|less than a minute)<\/time>/);
      clock.advance(59_000);
      expect((await info(created.PairingCode)).status).toBe(200);
      clock.advance(2_000);
      expect((await info(created.PairingCode)).status).toBe(404);
    } finally {
      await origin.close();
      await relay.close();
    }
  });

  it('the code expires at PLEXUS_PAIRING_TTL (engine clock), never later than its session', async () => {
    const relay = await startRelay();
    const clock = new ManualClock(Date.now());
    const origin = await startOrigin(relay.url, { PLEXUS_PAIRING_TTL: '60' }, { clock });
    try {
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      const long = await sdk.createSession({ id: 'long', ttl: 3600, supporterName: 'T', supporterAvatar: AVATAR });
      const short = await sdk.createSession({ id: 'short', ttl: 30, supporterName: 'T', supporterAvatar: AVATAR });
      const info = (code: string) => fetch(`${origin.url}/pairing/${code}`, { headers: { accept: 'application/json' } });
      clock.advance(29_000);
      expect((await info(long.PairingCode!)).status).toBe(200);
      expect((await info(short.PairingCode!)).status).toBe(200);
      clock.advance(2_000);
      expect((await info(short.PairingCode!)).status).toBe(404); // the session's 30 s cap
      clock.advance(28_000); // 59 s
      expect((await info(long.PairingCode!)).status).toBe(200);
      clock.advance(2_000); // 61 s
      expect((await info(long.PairingCode!)).status).toBe(404);
      expect((await postJson(`${origin.url}/pairing/${long.PairingCode}/confirm`, {})).status).toBe(404);
      // The session itself lives on (waiting), only its code is gone.
      expect((await sdk.getSession('long')).State).toBe('waiting');
      // The supporter asks for a new code: it works, the old code and agent link do not.
      const renewed = await sdk.newCode('long');
      expect(renewed.PairingCode).not.toBe(long.PairingCode);
      expect(renewed.PairingUrl).toBe(renewed.PairingURL);
      expect((await info(renewed.PairingCode!)).status).toBe(200);
      expect((await fetch(long.AgentMSH)).status).toBe(404);
      expect((await fetch(renewed.AgentMSH)).status).toBe(200);
      expect((await postJson(`${origin.url}/pairing/${renewed.PairingCode}/confirm`, {})).status).toBe(200);
      await expect(sdk.newCode('long')).rejects.toMatchObject({ status: 409, code: 'session_not_waiting', message: expect.stringMatching(/To start over, delete it and create a new session\.$/) });
    } finally {
      await origin.close();
      await relay.close();
    }
  });

  it('an expired session answers State expired (to its own login too) for an hour, then 404; one ended sooner is 404 at once', async () => {
    const relay = await startRelay();
    const clock = new ManualClock(Date.now());
    const origin = await startOrigin(relay.url, {}, { clock });
    try {
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      const own = new SupportOriginClient({ baseUrl: origin.url, user: 'own', password: 'pw' });
      for (const id of ['fading', 'forget-me', 'ended']) await sdk.createSession({ id, ttl: 30, supporterName: 'T', supporterAvatar: AVATAR, username: 'own', password: 'pw' });
      await sdk.deleteSession('ended');
      clock.advance(31_000);
      const expired = await sdk.getSession('fading');
      expect(expired).toMatchObject({ ID: 'fading', State: 'expired', SupporterName: 'T', Pairing: true, ConfirmedAt: null, ConnectedAt: null });
      expect(Date.parse(expired.ExpiresAt)).toBeLessThanOrEqual(clock.now());
      // Final: a long-poll is answered at once.
      const started = Date.now();
      expect((await sdk.getSession('fading', { waitSeconds: 20, since: expired.Version })).State).toBe('expired');
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await own.getSession('fading')).State).toBe('expired');
      await expect(new SupportOriginClient({ baseUrl: origin.url, user: 'own', password: 'wrong' }).getSession('fading')).rejects.toMatchObject({ status: 401 });
      // Only its state is left: not listed, no channel, no new code.
      expect(await sdk.listSessions()).toEqual([]);
      await expect(sdk.attach('fading')).rejects.toMatchObject({ status: 404 });
      await expect(sdk.newCode('fading')).rejects.toMatchObject({ status: 404 });
      // Deleted before its expiry: it ended, it did not expire.
      await expect(sdk.getSession('ended')).rejects.toMatchObject({ status: 404, code: 'session_not_found' });
      // Deleting an expired session forgets it; its id makes a new, live session.
      await sdk.deleteSession('forget-me');
      await expect(sdk.getSession('forget-me')).rejects.toMatchObject({ status: 404 });
      await sdk.createSession({ id: 'forget-me', ttl: 600, supporterName: 'New', supporterAvatar: AVATAR });
      expect(await sdk.getSession('forget-me')).toMatchObject({ State: 'waiting', SupporterName: 'New' });
      clock.advance(3_600_000);
      await expect(sdk.getSession('fading')).rejects.toMatchObject({ status: 404, code: 'session_not_found' });
    } finally {
      await origin.close();
      await relay.close();
    }
  });

  it('at most PAIRGATE_SUPPORT_MAX_SESSIONS live sessions: 429 beyond, with Retry-After; ending one makes room', async () => {
    const relay = await startRelay();
    const clock = new ManualClock(Date.now());
    const origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_MAX_SESSIONS: '2' }, { clock });
    try {
      for (const id of ['one', 'two']) expect((await session(origin, { id, supporter_name: 'T', supporter_avatar: AVATAR })).status).toBe(201);
      const full = await session(origin, { id: 'three', supporter_name: 'T', supporter_avatar: AVATAR });
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('30');
      expect(await full.json()).toEqual({ Error: 'Too Many Requests', Description: expect.stringContaining('Too many sessions are live'), Code: 'rate_limited' });
      // Nothing was made of the refused one, on the origin or the relay.
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      expect((await sdk.listSessions()).map((s) => s.ID).sort()).toEqual(['one', 'two']);
      await sdk.deleteSession('one');
      clock.advance(1_500); // the engine reuses a live count for up to a second
      expect((await session(origin, { id: 'three', supporter_name: 'T', supporter_avatar: AVATAR })).status).toBe(201);
    } finally {
      await origin.close();
      await relay.close();
    }
  });

  it('an address that misses too often is refused, even for a live code', async () => {
    const relay = await startRelay();
    const origin = await startOrigin(relay.url, { PAIRGATE_CODE_MISSES_PER_HOUR: '2', PAIRGATE_BRUTE_FORCE_BUDGET: '1' });
    try {
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      const created = await sdk.createSession({ id: 'guarded', supporterName: 'T', supporterAvatar: AVATAR });
      for (const code of ['zzzzz1', 'zzzzz2']) expect((await fetch(`${origin.url}/pairing/${code}`, { headers: { accept: 'application/json' } })).status).toBe(404);
      const refused = await fetch(`${origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'application/json' } });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await refused.json()).toMatchObject({ Error: 'Too Many Requests', Code: 'rate_limited' });
      expect((await postJson(`${origin.url}/pairing/${created.PairingCode}/confirm`, {})).status).toBe(429);
    } finally {
      await origin.close();
      await relay.close();
    }
  });

  it('without PLEXUS_PAIRING_URL: no pairing keys, supporter fields optional, AgentMSH token joins', async () => {
    const origin = await startOrigin('');
    try {
      const response = await session(origin, { id: 'plain' });
      expect(response.status).toBe(201);
      const created = await json(response);
      expect(Object.keys(created).sort()).toEqual(['AgentConfig', 'AgentMSH', 'ExpiresAt', 'ID', 'SessionURL']);
      const { connectAgent } = await import('../../../src/sdk/support.js');
      const agent = await connectAgent(created.AgentConfig.MeshServer, undefined);
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      expect((await sdk.getSession('plain')).State).toBe('connected');
      agent.close();
    } finally {
      await origin.close();
    }
  });

  it.each([['SQLite', false], ['PostgreSQL', true]] as const)('without PLEXUS_PAIRING_URL, on %s: of 10 agents joining at once with the token, one is welcome, the others are told another agent is connected', async (_name, onPostgres) => {
    if (onPostgres && pgMissing) return;
    const database = onPostgres ? await createTestDatabase() : undefined;
    const origin = await startOrigin('', database ? { PAIRGATE_DATABASE_URL: database.url } : {});
    try {
      const created = await json(await session(origin, { id: 'plain-race' }));
      const { connectAgent } = await import('../../../src/sdk/support.js');
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => connectAgent(created.AgentConfig.MeshServer, undefined)));
      const joined = outcomes.filter((o) => o.status === 'fulfilled');
      expect(joined).toHaveLength(1);
      for (const refused of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
        expect(refused.reason).toMatchObject({ code: 'agent_already_connected' });
      }
      (joined[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof connectAgent>>>).value.close();
    } finally {
      await origin.close();
      await database?.drop();
    }
  });
});
