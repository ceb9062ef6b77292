import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDoors } from '../../../src/doors/index.js';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { supportDoor, supportDoorWith } from '../../../src/doors/support/support-door.js';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN, ADMIN_AUTH, connectedSession, startOrigin, startRelay } from './helpers.js';

/*
 * A session's end holds its id (SessionIdLock) while it reads and removes the session; an id held
 * by another past the wait (a node that died holding it, for up to the hold's lifetime) makes the
 * end fail with 503 `unavailable`. An end no one waits on (a side's `end` message, the expiry timer)
 * had already told every socket `ended`, and the failure was swallowed: the session stayed live
 * (attachable, joinable) until its expiry. It is tried again once the hold has lapsed.
 *
 * Here a hold lasts 1.5 s and an end waits 0.5 s for one (10 s and 5 s by default).
 */

const HOLD_MS = 1500;

/** Holds session `id`'s id in `origin`'s ephemeral store as a node that died holding it would (for HOLD_MS). */
async function holdAsDeadNode(origin: TestApp, id: string): Promise<void> {
  expect(await origin.app.pairgate.stores.ephemeral.setIfAbsent(`support:id-lock|${sessionGrantId(id)}`, 'dead-node', HOLD_MS, Date.now())).toBe(true);
}

/** The HTTP status of GET /session/:id (200 while the session is there). */
async function sessionStatus(origin: TestApp, id: string): Promise<number> {
  return (await fetch(`${origin.url}/session/${id}`, { headers: { authorization: ADMIN_AUTH } })).status;
}

describe('support channel: an end while the session id stays held is tried again once the hold lapsed', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    const doors = allDoors.map((door) => (door === supportDoor ? supportDoorWith({ idLock: { holdMs: HOLD_MS, waitMs: 500 } }) : door));
    // No sweep during the test: an expired session's grant is gone only if its end removed it.
    origin = await startOrigin(relay.url, { PAIRGATE_SWEEP_SECONDS: '3600' }, { doors });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('the supporter ends the session while its id is held: every side is told `ended`, and the session is gone once the hold lapsed', async () => {
    const id = 'end-held-supporter';
    const { supporter, agent } = await connectedSession(origin, id);
    await holdAsDeadNode(origin, id);
    const ended = agent.next((e) => e.type === 'ended', 5000);
    supporter.end();
    expect(await ended).toMatchObject({ reason: 'supporter' });
    // The first attempt gave up after its wait (0.5 s): the session is still there.
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(await sessionStatus(origin, id)).toBe(200);
    // Before the fix: still 200 (until its expiry, an hour here).
    await expect.poll(() => sessionStatus(origin, id), { timeout: 5000, interval: 200 }).toBe(404);
  });

  it('the expiry timer ends the session while its id is held: its grant is removed once the hold lapsed', async () => {
    const id = 'end-held-expiry';
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    await sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/a.png', ttl: 10 });
    const createdAt = Date.now();
    // A supporter attached: this node holds the session's room, whose timer ends it at its expiry.
    const supporter = await sdk.attach(id);
    await supporter.next((e) => e.type === 'state', 5000);
    const grants = origin.app.pairgate.stores.grants;
    const session = await grants.findById(sessionGrantId(id), createdAt);
    expect(session).toBeDefined();
    // Held from just before the expiry until after the end's first attempt gave up.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, session!.expiresAt - Date.now() - 300)));
    await holdAsDeadNode(origin, id);
    expect(await supporter.next((e) => e.type === 'ended', 5000)).toMatchObject({ reason: 'expired' });
    // Read as of before the expiry, so an expired grant still shows: gone only once an end removed it.
    // Before the fix: still there (until a sweep).
    await expect.poll(() => grants.findById(sessionGrantId(id), createdAt), { timeout: 6000, interval: 200 }).toBeUndefined();
  }, 30_000);
});
