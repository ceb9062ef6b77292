import { describe, expect, it } from 'vitest';
import type { FramedChannel } from '../../../src/doors/lan/frames.js';
import { commitTrust } from '../../../src/doors/lan/trust-commit.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * What the person is told to fix when this side cannot save the other device, for the errors a
 * save really throws: the store's own path (its lock, read and write under `change`), made to fail
 * with a system error at the point where the disk would refuse. Tests run as root here, where a
 * folder's mode refuses nothing, so the refusal is thrown in the store rather than by the disk.
 */
function storeFailingWith(code: string): TrustedPeerStore {
  const store = new TrustedPeerStore(deviceDir(`hint-${code}`));
  const refusal = Object.assign(new Error(`${code}: refused, open '${store.path}.lock'`), { code });
  // What the disk says, thrown inside the store, so its wrapping (explainConfigWriteError) runs.
  (store as unknown as { changeLocked: () => Promise<never> }).changeLocked = () => Promise.reject(refusal);
  return store;
}

/** What this side told the other device. */
const told: unknown[] = [];
/** A channel whose other side says it saved (the newer protocol). */
const peerSaved = { send: (message: unknown) => told.push(message), receive: () => Promise.resolve({ kind: 'json', message: { t: 'saved' } }) } as unknown as FramedChannel;

const commitWith = (store: TrustedPeerStore, peerConfirms: boolean) =>
  commitTrust(peerSaved, {
    store,
    peer: { deviceId: 'dev-phone', name: 'phone', keySha256: 'k'.repeat(43), addresses: ['192.0.2.7'] },
    self: { deviceId: 'dev-laptop', name: 'laptop' },
    peerConfirms,
    timeoutMs: 1000,
  }).then(() => { throw new Error('expected a failure'); }, (error: Error & { code?: string }) => error);

describe('a failed save says what to fix, once', () => {
  for (const code of ['EACCES', 'EPERM', 'EROFS']) {
    it(`a folder that refuses the write (${code}) arrives as lan_config_dir_not_writable, whose own words say what to do: no second hint`, async () => {
      const store = storeFailingWith(code);
      const folder = store.path.replace(/\/peers\.json$/, '');
      for (const peerConfirms of [true, false]) {
        const error = await commitWith(store, peerConfirms);
        expect(error.code).toBe('lan_trust_not_saved');
        expect(error.message).toContain(`Cannot write in the config folder ${folder} (`);
        if (code === 'EROFS') {
          // No owner or mode makes a read-only file system writable: only another folder helps.
          expect(error.message).toContain('(it is on a read-only file system)');
          expect(error.message.match(/choose a folder on a writable disk with --config-dir/g)).toHaveLength(1);
          expect(error.message).not.toMatch(/chown|chmod|Make it yours/);
        } else {
          expect(error.message).toContain('(permission denied)');
          expect(error.message.match(/Make it yours and writable \(chown it to your user, chmod 700\)/g)).toHaveLength(1);
        }
        expect(error.message).not.toContain('writable by you');
        expect(error.message).toMatch(/or PAIRGATE_CONFIG_DIR\. .* Then pair again\.$/);
      }
      // The other device is told the kind of problem, never the path.
      expect(told.splice(0)).toEqual([{ t: 'error', code: 'lan_peer_not_saved', message: 'It could not save this device as a trusted peer: its config folder cannot be written [lan_config_dir_not_writable].' }]);
    });
  }

  it('a full disk arrives as Node\'s ENOSPC, which names no way out: the hint says to free space in the folder', async () => {
    const store = storeFailingWith('ENOSPC');
    const folder = store.path.replace(/\/peers\.json$/, '');
    for (const peerConfirms of [true, false]) {
      const error = await commitWith(store, peerConfirms);
      expect(error.code).toBe('lan_trust_not_saved');
      expect(error.message).toContain(`Free some space for ${folder}. Then pair again.`);
    }
    expect(told.splice(0)).toEqual([{ t: 'error', code: 'lan_peer_not_saved', message: 'It could not save this device as a trusted peer: its disk is full [ENOSPC].' }]);
  });
});
