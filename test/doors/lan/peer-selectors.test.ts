import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectToTrustedPeer } from '../../../src/doors/lan/connect.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * `peers remove <name>` and `lan connect <name>` took the first peer of that name, and names
 * default to the host name, so two "laptop" are common: revoking a stolen laptop by name could
 * revoke the other one and keep trusting the stolen one. A name or prefix that matches several
 * peers is now refused (`lan_ambiguous_peer`), listing their ids; a full id or key always names one.
 */

/** Two peers called "laptop" (ids sharing a 6-character prefix) and one "phone". */
async function twoLaptops() {
  const dir = deviceDir('selectors');
  const store = new TrustedPeerStore(dir);
  const first = await store.save({ deviceId: 'AbCdEf1111111111111111', name: 'laptop', keySha256: `k1${'a'.repeat(41)}`, addresses: ['192.0.2.1'] });
  const second = await store.save({ deviceId: 'AbCdEf2222222222222222', name: 'laptop', keySha256: `k2${'b'.repeat(41)}`, addresses: ['192.0.2.2'] });
  const phone = await store.save({ deviceId: 'PhOnE33333333333333333', name: 'phone', keySha256: `k3${'c'.repeat(41)}`, addresses: [] });
  return { dir, store, first, second, phone };
}

describe('naming a trusted peer that several match', () => {
  it('a shared name is refused with both ids, and nothing is removed', async () => {
    const { store, first, second } = await twoLaptops();
    const before = readFileSync(store.path, 'utf8');
    for (const attempt of [() => store.find('laptop'), () => store.remove('laptop')]) {
      const error = await Promise.resolve().then(attempt).then(() => { throw new Error('expected a refusal'); }, (e: Error & { code?: string; status?: number }) => e);
      expect(error.code).toBe('lan_ambiguous_peer');
      expect(error.status).toBe(409);
      expect(error.message).toContain(`"laptop" names 2 trusted peers: "laptop" (id ${second.deviceId}), "laptop" (id ${first.deviceId}). Name the one you mean by its device id`);
    }
    expect(readFileSync(store.path, 'utf8')).toBe(before);
  });

  it('a prefix several ids share is refused too; a longer one, a full id or a full key names one', async () => {
    const { store, first, second } = await twoLaptops();
    expect(() => store.find('AbCdEf')).toThrow(expect.objectContaining({ code: 'lan_ambiguous_peer' }));
    expect(store.find('AbCdEf1')).toEqual(first);
    expect(store.find(second.deviceId)).toEqual(second);
    expect(store.find(first.keySha256)).toEqual(first);
    expect((await store.remove(second.deviceId)).deviceId).toBe(second.deviceId);
    // Once one is left, the name names it alone.
    expect(store.find('laptop')).toEqual(first);
  });

  it('a name that is one peer\'s and another\'s id prefix is ambiguous, not the prefix\'s by precedence', async () => {
    const dir = deviceDir('selectors');
    const store = new TrustedPeerStore(dir);
    await store.save({ deviceId: 'desk01xxxxxxxxxxxxxxxx', name: 'tv', keySha256: `k1${'a'.repeat(41)}`, addresses: [] });
    await store.save({ deviceId: 'ZZZZZZxxxxxxxxxxxxxxxx', name: 'desk01', keySha256: `k2${'b'.repeat(41)}`, addresses: [] });
    expect(() => store.find('desk01')).toThrow(expect.objectContaining({ code: 'lan_ambiguous_peer' }));
    expect(store.find('desk01xxxxxxxxxxxxxxxx').name).toBe('tv');
  });

  it('lan connect <shared name> is refused before anything is dialled', async () => {
    const { dir } = await twoLaptops();
    await expect(connectToTrustedPeer('laptop', { configDir: dir, port: 1 })).rejects.toMatchObject({ code: 'lan_ambiguous_peer' });
  });
});
