import { describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { ADMIN_AUTH, json, postJson, ROOMY_MISSES, useSupportServers } from './helpers.js';

const AVATAR = 'https://img.example/t.png';

/** What the page says of an unknown or replaced code, and of a declined one (support-i18n.ts). */
const NOT_FOUND = 'No session has this code, or it has expired. Ask your supporter for a new code.';
const DECLINED = 'This code was declined';

describe('support: a decline racing a new code at the session\'s refusal', () => {
  // The replaced code is looked up after, a miss.
  const servers = useSupportServers(ROOMY_MISSES);

  /**
   * Creates session `id` and declines its code with `decline` while, just after the code's own
   * refusal and before the session's, the supporter is given a new code (POST /session/:id/code).
   * The decline's answer, the old code and the new one.
   */
  async function declineWhileReplaced<T>(id: string, decline: (code: string) => Promise<T>): Promise<{ answer: T; code: string; newCode: string }> {
    const origin = servers.origin.url;
    const created = await postJson(`${origin}/session`, { id, supporter_name: 'Thorsten', supporter_avatar: AVATAR }, { authorization: ADMIN_AUTH });
    expect(created.status).toBe(201);
    const code = ((await created.json()) as { PairingCode: string }).PairingCode;
    const { engine } = servers.origin.app.pairgate;
    const refuse = engine.refuse.bind(engine);
    let replaced: Promise<string> | undefined;
    engine.refuse = (async (grantId: string, ...rest: unknown[]) => {
      if (!replaced && grantId === sessionGrantId(id)) {
        replaced = fetch(`${origin}/session/${id}/code`, { method: 'POST', headers: { authorization: ADMIN_AUTH } }).then(async (answer) => {
          expect(answer.status).toBe(201);
          return ((await answer.json()) as { PairingCode: string }).PairingCode;
        });
        await replaced;
      }
      return (refuse as (...args: unknown[]) => unknown)(grantId, ...rest);
    }) as typeof engine.refuse;
    try {
      const answer = await decline(code);
      expect(replaced).toBeDefined();
      return { answer, code, newCode: await replaced! };
    } finally {
      engine.refuse = refuse;
    }
  }

  /** The session still waits for its code, and its new code confirms it. */
  async function stillWaiting(id: string, newCode: string): Promise<void> {
    const session = await json(fetch(`${servers.origin.url}/session/${id}`, { headers: { authorization: ADMIN_AUTH } }));
    expect(session.State).toBe('waiting');
    expect(session.PairingCodeExpiresAt).not.toBeNull();
    expect((await json(postJson(`${servers.origin.url}/pairing/${newCode}/confirm`, { Decision: 'accept' }))).State).toBe('confirmed');
  }

  it('JSON: code_not_found (not 403 declined), the old code is not told as declined, and the session waits for the new one', async () => {
    const id = 'decline-race-session';
    const { answer, code, newCode } = await declineWhileReplaced(id, (typed) => postJson(`${servers.origin.url}/pairing/${typed}/confirm`, { Decision: 'decline' }));
    // Before the fix: 403 `declined`, though the session was never declined (the supporter is
    // never told), and the old code was noted as declined.
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ Code: 'code_not_found', Description: 'Code not found' });
    const looked = await fetch(`${servers.origin.url}/pairing/${code}`, { headers: { accept: 'application/json' } });
    expect(looked.status).toBe(404);
    expect(await looked.json()).toMatchObject({ Code: 'code_not_found' });
    await stillWaiting(id, newCode);
  });

  it('the page: the not-found page (not the declined page), and the old code\'s page does not say it was declined', async () => {
    const id = 'decline-race-page';
    const app = servers.origin.app;
    const { answer, code, newCode } = await declineWhileReplaced(id, async (typed) => {
      const page = await app.inject({ method: 'GET', url: `/pairing/${typed}`, headers: { accept: 'text/html' } });
      expect(page.statusCode).toBe(200);
      const cookie = /pg_csrf=[^;]+/.exec(String(page.headers['set-cookie']))![0];
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      return app.inject({
        method: 'POST',
        url: `/pairing/${typed}/confirm`,
        headers: { accept: 'text/html', cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${token}&decision=decline`,
      });
    });
    // Before the fix: 303 to /support/declined, "nobody was given access", as if the session was declined.
    expect(answer.statusCode).toBe(404);
    expect(answer.headers.location).toBeUndefined();
    expect(answer.body.replace(/&#39;/g, "'")).toContain(NOT_FOUND);
    const again = await app.inject({ method: 'GET', url: `/pairing/${code}`, headers: { accept: 'text/html' } });
    expect(again.statusCode).toBe(404);
    expect(again.body).not.toContain(DECLINED);
    expect(again.body.replace(/&#39;/g, "'")).toContain(NOT_FOUND);
    await stillWaiting(id, newCode);
  });

  it('a decline with no new code meanwhile still declines: 403 declined, the session says declined, the code says declined', async () => {
    const origin = servers.origin.url;
    const created = await json(postJson(`${origin}/session`, { id: 'decline-plain', supporter_name: 'Thorsten', supporter_avatar: AVATAR }, { authorization: ADMIN_AUTH }));
    const answer = await postJson(`${origin}/pairing/${created.PairingCode}/confirm`, { Decision: 'decline' });
    expect(answer.status).toBe(403);
    expect(await answer.json()).toMatchObject({ Code: 'declined' });
    expect((await json(fetch(`${origin}/session/decline-plain`, { headers: { authorization: ADMIN_AUTH } }))).State).toBe('declined');
    expect(await json(fetch(`${origin}/pairing/${created.PairingCode}`, { headers: { accept: 'application/json' } }))).toMatchObject({ Code: 'code_declined' });
  });
});
