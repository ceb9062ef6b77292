import { afterAll } from 'vitest';
import type { Stores } from '../../src/store/ports.js';
import { openRedisStores } from '../../src/store/redis/redis-stores.js';
import { createTestPrefix, dropRedisSubscribers, REDIS_URL, redisMissing } from '../helpers/services.js';
import { grantStoreContract } from './contract/grant-store-contract.js';

const skip = await redisMissing();
const { prefix, cleanup } = createTestPrefix();
afterAll(async () => {
  if (!skip) await cleanup();
});

// The durable part is not Redis's: the contract exercises grants, ephemeral entries and wake-ups.
const open = async (): Promise<Stores> => ({ ...(await openRedisStores({ url: REDIS_URL, prefix })), db: undefined as never });

grantStoreContract('redis (grants, ephemeral entries and pub/sub in Redis)', open, skip, { openPeer: open, dropListeners: () => dropRedisSubscribers(prefix) });
