import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';

/** Reads a JSON answer for assertions. */
async function json(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('generic grant API over real sockets', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('create -> look up by code -> approve -> redeem once', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'Pair the TV', data: { room: 'living' } }));
    expect(created).toMatchObject({ state: 'pending', label: 'Pair the TV', version: 1 });
    expect(created.code).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]$/);
    const view = await json(fetch(`${base}/api/v1/codes/${created.code.toUpperCase()}`));
    expect(view).toMatchObject({ label: 'Pair the TV', data: { room: 'living' }, state: 'pending' });
    expect(view.id).toBeUndefined(); // the code's holder never learns the id or the secret
    const approved = await post(`${base}/api/v1/codes/${created.code}/approve`, { note: 'ok' });
    expect(approved.status).toBe(200);
    // The code is spent: a second decision finds nothing.
    expect((await post(`${base}/api/v1/codes/${created.code}/refuse`, {})).status).toBe(404);
    // Wrong secret: 404 without saying whether the id exists.
    expect((await post(`${base}/api/v1/grants/${created.id}/redeem`, { secret: 'x'.repeat(43) })).status).toBe(404);
    const redeemed = await post(`${base}/api/v1/grants/${created.id}/redeem`, { secret: created.secret });
    expect(redeemed.status).toBe(200);
    expect(await json(redeemed)).toMatchObject({ state: 'redeemed', note: 'ok' });
    // Only the secret's holder gets this far, so it may learn why: already redeemed.
    const again = await post(`${base}/api/v1/grants/${created.id}/redeem`, { secret: created.secret });
    expect(again.status).toBe(409);
    expect((await json(again)).error).toBe('grant_redeemed');
  });

  it('a label or fact holding a control or text-direction character is refused, 400 validation_failed naming the field; nothing is created', async () => {
    const before = await t.app.pairgate.stores.grants.countLive('pair', Date.now());
    const cases: [unknown, string][] = [
      [{ label: 'Pay \u202eevil\u202c now' }, 'label'],
      [{ label: 'Bell\u0007' }, 'label'],
      [{ label: 'ok', data: { room: 'attic\u2066x' } }, 'data.room'],
      [{ label: 'ok', data: { 'ro\u0000om': 'attic' } }, 'a data name'],
    ];
    for (const [body, field] of cases) {
      const answer = await post(`${base}/api/v1/grants`, body);
      expect(answer.status, field).toBe(400);
      expect(await answer.json()).toMatchObject({ error: 'validation_failed', field, message: expect.stringMatching(/must not contain control or text-direction characters/) });
    }
    expect(await t.app.pairgate.stores.grants.countLive('pair', Date.now())).toBe(before);
    // Letters of every script are fine.
    expect((await post(`${base}/api/v1/grants`, { label: 'Imprimante — 打印机 — طابعة', data: { pièce: 'grenier' } })).status).toBe(201);
  });

  it('a decision\'s note holding a control or text-direction character is refused before the code is looked at; the code still works', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'noted' }));
    for (const decision of ['approve', 'refuse']) {
      for (const note of ['ok\u202e evil', 'red\u001b[31m', 'bare\rreturn']) {
        const answer = await post(`${base}/api/v1/codes/${created.code}/${decision}`, { note });
        expect(answer.status).toBe(400);
        expect(await answer.json()).toMatchObject({ error: 'validation_failed', field: 'note', message: expect.stringMatching(/^note must not contain control or text-direction characters .* other than line breaks and tabs/) });
      }
    }
    const refused = await post(`${base}/api/v1/codes/${created.code}/refuse`, { note: 'Pas maintenant — 稍后\r\nCall me:\tMonday\nthanks' });
    expect(refused.status).toBe(200);
  });

  it('a decision needs no body: a bare POST approves (the note is optional)', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'bare' }));
    const approved = await fetch(`${base}/api/v1/codes/${created.code}/approve`, { method: 'POST' });
    expect(approved.status).toBe(200);
    expect(await json(approved)).toMatchObject({ state: 'approved' });
    const other = await json(post(`${base}/api/v1/grants`, { label: 'bare' }));
    expect((await fetch(`${base}/api/v1/codes/${other.code}/refuse`, { method: 'POST' })).status).toBe(200);
  });

  it('redeems once when 50 clients race', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'race' }));
    await post(`${base}/api/v1/codes/${created.code}/approve`, {});
    const statuses = await Promise.all(Array.from({ length: 50 }, async () => (await post(`${base}/api/v1/grants/${created.id}/redeem`, { secret: created.secret })).status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 404 || s === 409)).toBe(true);
  });

  it('long-poll: a waiting client wakes within milliseconds of the approval', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'wait' }));
    const started = performance.now();
    const waiting = fetch(`${base}/api/v1/grants/${created.id}?wait=30`).then(async (r) => ({ at: performance.now(), body: await r.json() }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const approvedAt = performance.now();
    await post(`${base}/api/v1/codes/${created.code}/approve`, {});
    const { at, body } = (await waiting) as { at: number; body: any };
    expect(body.state).toBe('approved');
    expect(at - started).toBeGreaterThanOrEqual(150); // it really waited
    expect(at - approvedAt).toBeLessThan(1_000); // and woke on the change, not at the 30 s timeout
  });

  it('long-poll honours Prefer: wait and answers at once when asked for a version already passed', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'prefer' }));
    await post(`${base}/api/v1/codes/${created.code}/refuse`, {});
    const response = await fetch(`${base}/api/v1/grants/${created.id}?since=1`, { headers: { prefer: 'wait=30' } });
    expect((await json(response)).state).toBe('refused');
  });

  it('server-sent events: the current state at once, then every change', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'sse' }));
    const response = await fetch(`${base}/api/v1/grants/${created.id}/events`);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    // The security headers of every /api/ answer, which the stream's own writing of its head dropped.
    const read = await fetch(`${base}/api/v1/grants/${created.id}`);
    for (const name of ['content-security-policy', 'x-content-type-options', 'x-frame-options']) {
      expect(read.headers.get(name), name).toBeTruthy();
      expect(response.headers.get(name), name).toBe(read.headers.get(name));
    }
    const head = await fetch(`${base}/api/v1/grants/${created.id}/events`, { method: 'HEAD' });
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await readUntil('"state":"pending"');
    await post(`${base}/api/v1/codes/${created.code}/approve`, {});
    await readUntil('"state":"approved"');
    expect(text.match(/event: state/g)).toHaveLength(2);
    await reader.cancel();
  });

  it('a redeem refused says what to do, and hands the creator the refuser\'s note', async () => {
    const redeem = async (created: { id: string; secret: string }) => {
      const response = await post(`${base}/api/v1/grants/${created.id}/redeem`, { secret: created.secret });
      return { status: response.status, body: await json(response) };
    };
    const pending = await json(post(`${base}/api/v1/grants`, { label: 'undecided' }));
    expect(await redeem(pending)).toEqual({
      status: 409,
      body: { error: 'grant_pending', state: 'pending', message: 'Nobody has decided on this request yet, so it cannot be redeemed. Wait for the decision (GET /api/v1/grants/<id>?wait=60, or its events), then redeem it.' },
    });
    const refused = await json(post(`${base}/api/v1/grants`, { label: 'refused' }));
    await post(`${base}/api/v1/codes/${refused.code}/refuse`, { note: 'not today' });
    expect(await redeem(refused)).toEqual({
      status: 409,
      body: { error: 'grant_refused', state: 'refused', note: 'not today', message: 'The person refused this request, so it cannot be redeemed. Create a new grant to ask again.' },
    });
    const bare = await json(post(`${base}/api/v1/grants`, { label: 'refused without a word' }));
    await fetch(`${base}/api/v1/codes/${bare.code}/refuse`, { method: 'POST' });
    expect((await redeem(bare)).body).toMatchObject({ error: 'grant_refused', note: null });
    const approved = await json(post(`${base}/api/v1/grants`, { label: 'approved' }));
    await post(`${base}/api/v1/codes/${approved.code}/approve`, {});
    expect((await redeem(approved)).status).toBe(200);
    expect(await redeem(approved)).toEqual({
      status: 409,
      body: { error: 'grant_redeemed', state: 'redeemed', message: 'This request was already redeemed: a grant is redeemed once. Create a new grant to ask again.' },
    });
  });

  it('a grant or code not found says why it may be so (expired grants are deleted, decided codes spent)', async () => {
    const grant = await json(fetch(`${base}/api/v1/grants/01a2000000000000000000000000000000`));
    expect(grant).toEqual({ error: 'grant_not_found', message: 'No live grant has this id: it expired, or the id is wrong. Create a new grant to ask again.' });
    const created = await json(post(`${base}/api/v1/grants`, { label: 'decided' }));
    await post(`${base}/api/v1/codes/${created.code}/approve`, {});
    const spent = await json(post(`${base}/api/v1/codes/${created.code}/approve`, {}));
    expect(spent).toEqual({ error: 'code_not_found', message: 'No live request has this code: it expired, was already approved or refused, or is not the one given. Check the code, or ask for a new one.' });
  });

  it("another door's grant is not found here, at once, not a 500 (the access door's key starts with its grant id)", async () => {
    const access = await json(post(`${base}/access`, { requestingAppId: 'test-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }] }));
    const id = String(access.key).slice(0, 22);
    const notFound = { error: 'grant_not_found', message: expect.stringMatching(/^No live grant has this id/) };
    const read = await fetch(`${base}/api/v1/grants/${id}`);
    expect({ status: read.status, body: await json(read) }).toEqual({ status: 404, body: notFound });
    const started = performance.now();
    const waited = await fetch(`${base}/api/v1/grants/${id}?wait=5`);
    expect({ status: waited.status, body: await json(waited) }).toEqual({ status: 404, body: notFound });
    expect(performance.now() - started).toBeLessThan(2_000);
    const events = await fetch(`${base}/api/v1/grants/${id}/events`);
    expect({ status: events.status, body: await json(events) }).toEqual({ status: 404, body: notFound });
  });

  it('keeps codes and secrets out of the logs', async () => {
    const created = await json(post(`${base}/api/v1/grants`, { label: 'logs' }));
    await fetch(`${base}/api/v1/codes/${created.code}`);
    await post(`${base}/api/v1/grants/${created.id}/redeem`, { secret: created.secret });
    const logs = t.logs.join('');
    expect(logs).toContain('/api/v1/codes/:code'); // requests are logged by route pattern
    expect(logs).not.toContain(created.code);
    expect(logs).not.toContain(created.secret);
  });
});
