import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionGrantId, type SessionGrant } from '../../../src/doors/support/session-model.js';
import type { TestApp } from '../../helpers/app.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';
import { createSession as create, shiftedClock, startOrigin } from './helpers.js';

const pgMissing = await postgresMissing();

/**
 * An id whose session expired but was not swept yet is reclaimed by the next creation under it.
 * Several creations of that id at once (a supporter's script retried, two supporters choosing the
 * same id, on one node or two): exactly one gets the id (201), the others the usual
 * `session_id_taken`, and the session left under the id is the winner's. Before, each found the
 * expired one, removed what was under the id (by then maybe another's new session) and made its
 * own: several 201s, all but one of whose sessions were gone.
 */

/**
 * Makes `node`'s reads of grant `grantId` answer up to 60 ms after they read, as a store a network
 * away may (what is read can change meanwhile); returns the function that undoes it.
 */
function slowReadsOf(node: TestApp, grantId: string): () => void {
  const { engine } = node.app.pairgate;
  const get = engine.get.bind(engine);
  engine.get = (async (grant: string) => {
    const found = await get(grant);
    if (grant === grantId) await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
    return found;
  }) as typeof engine.get;
  return () => void (engine.get = get);
}

/**
 * Creates `id` with a short TTL, moves the clocks past it, then creates `id` `count` times at once
 * through `nodes` in turn; checks that exactly one wins and that its session is the one kept.
 */
async function raceOnExpiredId(nodes: TestApp[], clocks: ReturnType<typeof shiftedClock>[], id: string, count: number): Promise<void> {
  expect((await create(nodes[0]!, id, 10)).status).toBe(201);
  for (const clock of clocks) clock.offset += 11_000;
  const restore = nodes.map((node) => slowReadsOf(node, sessionGrantId(id)));
  let answers: Response[];
  try {
    answers = await Promise.all(Array.from({ length: count }, (_, i) => create(nodes[i % nodes.length]!, id)));
  } finally {
    for (const undo of restore) undo();
  }
  const bodies = await Promise.all(answers.map(async (answer) => ({ status: answer.status, body: (await answer.json()) as Record<string, any> })));
  const winners = bodies.filter((answer) => answer.status === 201);
  const losers = bodies.filter((answer) => answer.status !== 201);
  expect({ winners: winners.length, loserCodes: [...new Set(losers.map((answer) => answer.body.Code))] }).toEqual({ winners: 1, loserCodes: count > 1 ? ['session_id_taken'] : [] });
  // The session under the id is the winner's (its mesh name is drawn per creation), on every node.
  for (const node of nodes) {
    const kept = (await node.app.pairgate.engine.get(sessionGrantId(id))) as SessionGrant | undefined;
    expect(kept?.request.meshName).toBe(winners[0]!.body.AgentConfig.MeshName);
  }
}

describe('support sessions: creations at once of an expired, not yet swept id (SQLite, one node)', () => {
  const clock = shiftedClock();
  let origin: TestApp;
  beforeAll(async () => {
    origin = await startOrigin('', { PAIRGATE_SWEEP_SECONDS: '3600' }, { clock });
  });
  afterAll(async () => {
    await origin?.close();
  });

  it('exactly one of several creations wins; the others are told session_id_taken; the winner\'s session stays', async () => {
    for (let round = 0; round < 5; round++) await raceOnExpiredId([origin], [clock], `reclaim-${round}`, 4);
  }, 60_000);
});

describe.skipIf(pgMissing)('support sessions: creations at once of an expired id on two nodes (PostgreSQL)', () => {
  const clocks = [shiftedClock(), shiftedClock()];
  const nodes: TestApp[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    for (const clock of clocks) nodes.push(await startOrigin('', { PAIRGATE_DATABASE_URL: database.url, PAIRGATE_SWEEP_SECONDS: '3600' }, { clock }));
  });
  afterAll(async () => {
    await Promise.allSettled(nodes.map((node) => node.close()));
    await database?.drop();
  });

  it('exactly one of several creations through both nodes wins; the winner\'s session stays', async () => {
    for (let round = 0; round < 5; round++) await raceOnExpiredId(nodes, clocks, `reclaim-pg-${round}`, 4);
  }, 60_000);
});
