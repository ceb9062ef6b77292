import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { randomId } from '../../../src/core/ids.js';
import { LinkTokens } from '../../../src/doors/install/link-tokens.js';
import { NumberedSlots } from '../../../src/doors/shared/numbered-slots.js';
import { RelayAddressCap } from '../../../src/doors/support/relay-address-cap.js';
import type { GrantEngine } from '../../../src/engine/grant-engine.js';
import type { EphemeralStore } from '../../../src/store/ports.js';
import { ephemeralAdapters, type OpenedEphemeral } from '../../store/ephemeral-adapters.js';

/**
 * The callers of NumberedSlots that hold a slot while something is made (a relay code, a link
 * token) and give it back when that fails, or set it to end with what was made: a holder that
 * stalled past its slot's lifetime while another holder took the slot must neither free it nor
 * take it back, or one more than the cap would be live.
 */
for (const adapter of await ephemeralAdapters()) describe.skipIf(Boolean(adapter.skip))(`slot holders that stalled, ${adapter.name}${adapter.skip ? ` (skipped: ${adapter.skip})` : ''}`, () => {
  let opened: OpenedEphemeral;
  /** The store of the other holder: another node's where the adapter has two. */
  let other: EphemeralStore;
  beforeAll(async () => {
    opened = await adapter.open();
    other = opened.nodes[opened.nodes.length - 1]!;
  });
  afterAll(() => opened?.close());
  // One clock for the tests, moved on past every slot of the test before (the link tokens' slots
  // are under fixed keys).
  let clock: ManualClock;
  beforeAll(() => {
    clock = new ManualClock(Date.now());
  });
  beforeEach(() => clock.advance(60_000));

  it('a relay address slot given back after it lapsed and another code took it leaves the other code\'s slot', async () => {
    const address = `198.51.100.${randomId(4)}`;
    const give = await new RelayAddressCap(opened.nodes[0]!, clock, 1).take(address, 1_000);
    // The first code's node stalls past the slot's lifetime; another code of the address takes it.
    clock.advance(1_001);
    const otherCap = new RelayAddressCap(other, clock, 1);
    await otherCap.take(address, 1_000);
    // The first code could not be made after all: its give-back lands late.
    await give();
    expect(await new NumberedSlots(other, 'relay|live|', 1).held(address, clock.now())).toHaveLength(1);
    await expect(otherCap.take(address, 1_000)).rejects.toMatchObject({ code: 'too_many_live_codes' });
  });

  /** Link tokens of one place in all, whose engine runs `meanwhile` while it makes the grant. */
  const stallingTokens = (ttlMs: number, meanwhile: () => Promise<void>, fail: boolean) => {
    const engine = {
      create: async () => {
        await meanwhile();
        if (fail) throw new Error('the grant store failed');
        return { grant: { id: `grant-${randomId(6)}`, expiresAt: clock.now() + ttlMs }, code: '0000000000' };
      },
      remove: vi.fn(async () => true),
    };
    return { engine, tokens: new LinkTokens(engine as unknown as GrantEngine, opened.nodes[0]!, clock, ttlMs, 1, async () => true) };
  };
  const request = { orgId: 'org', connector: 'mattermost', userId: 'user', username: 'someone' };

  it('a link token\'s place given back after it lapsed and another token took it leaves the other token\'s place', async () => {
    const ttlMs = 2_000;
    // Places outlive the grant by a second; the creation stalls past that, and another token takes the place.
    const theirs = new NumberedSlots(other, 'install|link-slot|', 1);
    const { tokens } = stallingTokens(ttlMs, async () => {
      clock.advance(ttlMs + 1_001);
      expect((await theirs.take('all', 'theirs', ttlMs, clock.now())).ok).toBe(true);
    }, true);
    await expect(tokens.create(request, '203.0.113.0')).rejects.toThrow('the grant store failed');
    expect((await theirs.held('all', clock.now())).map((slot) => slot.value)).toEqual(['theirs']);
  });

  it('a link token whose place lapsed and was taken while it was made does not take it back: it is withdrawn, 429', async () => {
    const ttlMs = 2_000;
    const theirs = new NumberedSlots(other, 'install|link-slot|', 1);
    const { engine, tokens } = stallingTokens(ttlMs, async () => {
      clock.advance(ttlMs + 1_001);
      expect((await theirs.take('all', 'theirs', ttlMs, clock.now())).ok).toBe(true);
    }, false);
    await expect(tokens.create(request, '203.0.113.0')).rejects.toMatchObject({ code: 'rate_limited', status: 429 });
    expect(engine.remove).toHaveBeenCalledTimes(1);
    expect((await theirs.held('all', clock.now())).map((slot) => slot.value)).toEqual(['theirs']);
  });
});
