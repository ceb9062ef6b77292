import { afterAll, expect } from 'vitest';
import type { Stores } from '../../src/store/ports.js';
import { Redis } from 'ioredis';
import { openRedisStores, subscriberName } from '../../src/store/redis/redis-stores.js';
import { createTestPrefix, REDIS_URL, redisMissing } from '../helpers/services.js';
import { grantStoreContract } from './contract/grant-store-contract.js';

const skip = await redisMissing();
const { prefix, cleanup } = createTestPrefix();
afterAll(async () => {
  if (!skip) await cleanup();
});

// The durable part is not Redis's: the contract exercises grants, ephemeral entries and wake-ups.
const open = async (): Promise<Stores> => ({ ...(await openRedisStores({ url: REDIS_URL, prefix })), db: undefined as never });

/** Kills the subscriber connections of this prefix (both nodes'); ioredis reconnects them. */
async function dropListeners(): Promise<void> {
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const ids = [...clients.matchAll(/^id=(\d+) .*\bname=(\S*)/gm)].filter((match) => match[2] === subscriberName(prefix)).map((match) => match[1]!);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
  } finally {
    admin.disconnect();
  }
}

grantStoreContract('redis (grants, ephemeral entries and pub/sub in Redis)', open, skip, { openPeer: open, dropListeners });
