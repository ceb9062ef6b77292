import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionGrantId, type SessionGrant } from '../../../src/doors/support/session-model.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, createSession as create, openRecordedSocket, shiftedClock, startOrigin } from './helpers.js';

/*
 * A session's end (its expiry timer, `DELETE /session/:id`, either side's `end`) reads the session
 * and removes what its id holds. A creation under the same id (the supporter starting over, or
 * reclaiming the id of a session that just expired) could come in between: the end then removed
 * the new session, forgot its note (so it was 404, not `expired`, after its expiry) and took its
 * entry out of the session list. The end now holds the id (SessionIdLock) as creations do.
 */

/**
 * Arms `target[method]` (one taking a key first) so that around its first call for `key` from now on
 * (`before` it or `after` it) `racer` runs: the call goes on once the racer is done, or after a
 * second (a racer waiting for the id held by the caller cannot be done before).
 */
function raceNextCall<M extends string>(target: Record<M, (key: string) => Promise<unknown>>, method: M, key: string, when: 'before' | 'after', racer: () => Promise<Response>): { answer: () => Promise<Response>; restore: () => void } {
  const original = target[method];
  const call = original.bind(target);
  let raced: Promise<Response> | undefined;
  target[method] = (async (given: string) => {
    if (given !== key || raced) return call(given);
    const first = when === 'after' ? await call(given) : undefined;
    raced = racer();
    await Promise.race([raced, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    return when === 'after' ? first : call(given);
  }) as (typeof target)[M];
  return {
    answer: () => {
      if (!raced) throw new Error(`the ${method} of ${key} was not raced`);
      return raced;
    },
    restore: () => void (target[method] = original),
  };
}

/** Arms `node`'s engine: a racer around its next removal of `grantId` (see raceNextCall). */
function raceNextRemoval(node: TestApp, grantId: string, when: 'before' | 'after', racer: () => Promise<Response>): { answer: () => Promise<Response>; restore: () => void } {
  return raceNextCall(node.app.pairgate.engine as unknown as Record<'remove', (key: string) => Promise<unknown>>, 'remove', grantId, when, racer);
}

/** Arms `node`'s ephemeral store: a racer before its next deletion of `key` (see raceNextCall). */
function raceNextDeletion(node: TestApp, key: string, racer: () => Promise<Response>): { answer: () => Promise<Response>; restore: () => void } {
  return raceNextCall(node.app.pairgate.stores.ephemeral as unknown as Record<'delete', (key: string) => Promise<unknown>>, 'delete', key, 'before', racer);
}

/**
 * Deletes session `id` on `node` while `race` is armed: DELETE answers 204; returns the racer's
 * answer (expected 201 by the caller where it needs its body). The race is disarmed either way.
 */
async function deleteWhile(node: TestApp, id: string, race: { answer: () => Promise<Response>; restore: () => void }): Promise<Response> {
  try {
    const deleted = await fetch(`${node.url}/session/${id}`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
    expect(deleted.status).toBe(204);
    const answer = await race.answer();
    expect(answer.status).toBe(201);
    return answer;
  } finally {
    race.restore();
  }
}

/** The ids of the session list of `node`. */
async function listedIds(node: TestApp): Promise<string[]> {
  const list = (await (await fetch(`${node.url}/session`, { headers: { authorization: ADMIN_AUTH } })).json()) as { Sessions: { ID: string }[] };
  return list.Sessions.map((session) => session.ID);
}

/** Session `id`'s state as GET /session/:id answers it (its status when not 200). */
async function stateOf(node: TestApp, id: string): Promise<string | number> {
  const answer = await fetch(`${node.url}/session/${id}`, { headers: { authorization: ADMIN_AUTH } });
  return answer.status === 200 ? ((await answer.json()) as { State: string }).State : answer.status;
}

describe('support sessions: an end racing a creation under the same id (SQLite)', () => {
  const clock = shiftedClock();
  let origin: TestApp;
  beforeAll(async () => {
    origin = await startOrigin('', { PAIRGATE_SWEEP_SECONDS: '3600' }, { clock });
  });
  afterAll(async () => {
    await origin?.close();
  });

  it('the expiry timer of a session whose id is reclaimed meanwhile leaves the new session alone', async () => {
    const id = 'end-expiry-race';
    const grantId = sessionGrantId(id);
    expect((await create(origin, id, 10)).status).toBe(201);
    // Half a second left: the room a supporter socket makes ends the session then.
    clock.offset += 9_500;
    const supporter = openRecordedSocket(`${origin.url.replace(/^http/, 'ws')}/session/${id}/channel`, { authorization: ADMIN_AUTH });
    await supporter.opened;
    // The end has read the session (expired); a creation reclaims the id before the end removes it.
    const race = raceNextRemoval(origin, grantId, 'before', () => create(origin, id));
    try {
      expect(await supporter.closed).toBe(4000);
      const answer = await race.answer();
      expect(answer.status).toBe(201);
      const created = (await answer.json()) as { AgentConfig: { MeshName: string } };
      // The end is done (its removal went on) well within this.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const kept = (await origin.app.pairgate.engine.get(grantId)) as SessionGrant | undefined;
      expect(kept?.request.meshName).toBe(created.AgentConfig.MeshName);
    } finally {
      race.restore();
    }
  }, 30_000);

  it('DELETE /session/:id racing a creation under the id leaves the new session listed and remembered', async () => {
    const id = 'end-delete-race';
    const grantId = sessionGrantId(id);
    expect((await create(origin, id, 10)).status).toBe(201);
    // The session is created again under its id right after DELETE removed it, before DELETE is done.
    await deleteWhile(origin, id, raceNextRemoval(origin, grantId, 'after', () => create(origin, id, 10)));
    // The new session is in the list (its index entry was not deleted by the DELETE of the first).
    expect(await listedIds(origin)).toContain(id);
    // Its note was not forgotten: past its expiry it is answered as expired, not 404.
    clock.offset += 11_000;
    expect(await stateOf(origin, id)).toBe('expired');
  }, 30_000);

  it('a creation under the id between DELETE\'s end and its list entry\'s removal stays listed', async () => {
    const id = 'end-delete-entry-race';
    expect((await create(origin, id, 10)).status).toBe(201);
    await deleteWhile(origin, id, raceNextDeletion(origin, `support:session:${id}`, () => create(origin, id, 10)));
    expect(await listedIds(origin)).toContain(id);
  }, 30_000);

  it('DELETE of an expired session racing a creation reclaiming its id leaves the new session listed and remembered', async () => {
    const id = 'end-delete-expired-race';
    expect((await create(origin, id, 10)).status).toBe(201);
    clock.offset += 11_000;
    expect(await stateOf(origin, id)).toBe('expired');
    // DELETE found the expired session's note; the id is reclaimed before the note goes.
    await deleteWhile(origin, id, raceNextDeletion(origin, `support:memory|${sessionGrantId(id)}`, () => create(origin, id, 10)));
    expect(await listedIds(origin)).toContain(id);
    clock.offset += 11_000;
    expect(await stateOf(origin, id)).toBe('expired');
  }, 30_000);

  it('DELETE of a session that expires and is created again after DELETE read it leaves the new session alone', async () => {
    const id = 'end-delete-read-race';
    const grantId = sessionGrantId(id);
    expect((await create(origin, id, 10)).status).toBe(201);
    // DELETE reads the session (live); it then expires and a creation reclaims its id.
    const race = raceNextCall(origin.app.pairgate.engine as unknown as Record<'get', (key: string) => Promise<unknown>>, 'get', grantId, 'after', () => {
      clock.offset += 11_000;
      return create(origin, id, 10);
    });
    const created = (await (await deleteWhile(origin, id, race)).json()) as { AgentConfig: { MeshName: string } };
    const kept = (await origin.app.pairgate.engine.get(grantId)) as SessionGrant | undefined;
    expect(kept?.request.meshName).toBe(created.AgentConfig.MeshName);
    expect(await listedIds(origin)).toContain(id);
  }, 30_000);
});
