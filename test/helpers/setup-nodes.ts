import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createTestApp, type TestApp } from './app.js';
import type { StoreSetup } from './services.js';

/** The listening nodes of a store set-up, there for the tests of the describe that asked for them. */
export interface SetupNodes {
  readonly nodes: TestApp[];
  /** Each node's base URL, in the order of `nodes`. */
  readonly bases: string[];
  /** The base URL of node `i` modulo their number: the i-th request of a burst goes there. */
  baseFor(i: number): string;
}

/**
 * Starts `setup`'s nodes with `env` (over the set-up's own) before the describe's tests, each
 * listening on loopback, and closes them and removes the set-up's database and keys after them.
 * Call it in a describe's body, as beforeAll is.
 */
export function listeningNodes(setup: StoreSetup, env: Record<string, string>, options: { clock?: Clock } = {}): SetupNodes {
  const nodes: TestApp[] = [];
  const bases: string[] = [];
  let cleanup: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const made = await setup.env();
    cleanup = made.cleanup;
    for (let i = 0; i < setup.nodes; i++) {
      const node = await createTestApp({ ...env, ...made.env }, options);
      nodes.push(node);
      bases.push(await node.listen());
    }
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await cleanup();
  });
  return { nodes, bases, baseFor: (i) => bases[i % bases.length]! };
}
