import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../../src/core/ids.js';
import { NumberedSlots } from '../../../src/doors/shared/numbered-slots.js';
import { ephemeralAdapters, type OpenedEphemeral } from '../../store/ephemeral-adapters.js';

/**
 * A reservation (a live grant of a network, a pending device authorization) given back after its
 * slot lapsed and another reservation took it: the release must leave the other's slot, or one
 * more than the cap could be held.
 */
for (const adapter of await ephemeralAdapters()) describe.skipIf(Boolean(adapter.skip))(`numbered slots: a stalled holder, ${adapter.name}${adapter.skip ? ` (skipped: ${adapter.skip})` : ''}`, () => {
  let opened: OpenedEphemeral;
  beforeAll(async () => {
    opened = await adapter.open();
  });
  afterAll(() => opened?.close());

  it('a reservation released after its slot lapsed and was taken again leaves the new holder\'s slot', async () => {
    const prefix = `test|stalled-${randomId(6)}|`;
    const first = new NumberedSlots(opened.nodes[0]!, prefix, 1);
    const second = new NumberedSlots(opened.nodes[opened.nodes.length - 1]!, prefix, 1);
    const start = Date.now();
    const a = await first.reserve('net', 1_000, start);
    expect(a.ok).toBe(true);
    const b = await second.reserve('net', 1_000, start + 1_001);
    expect(b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    await a.release();
    expect(await second.held('net', start + 1_002)).toHaveLength(1);
    // The cap still holds: a third is refused while the second lives.
    expect((await first.reserve('net', 1_000, start + 1_002)).ok).toBe(false);
    await b.release();
    expect(await second.held('net', start + 1_002)).toHaveLength(0);
  });

  it('renewIfHeld and releaseIfHeld leave a slot another holder took after this one lapsed', async () => {
    const prefix = `test|renew-${randomId(6)}|`;
    const slots = new NumberedSlots(opened.nodes[0]!, prefix, 1);
    const start = Date.now();
    const taken = await slots.take('s', 'mine', 1_000, start);
    if (!taken.ok) throw new Error('refused');
    expect(await slots.renewIfHeld(taken.key, 'mine', 1_000, start + 500)).toBe(true);
    const again = await slots.take('s', 'theirs', 1_000, start + 1_501);
    expect(again).toEqual({ ok: true, key: taken.key });
    expect(await slots.renewIfHeld(taken.key, 'mine', 1_000, start + 1_600)).toBe(false);
    expect(await slots.releaseIfHeld(taken.key, 'mine', start + 1_600)).toBe(false);
    expect((await slots.held('s', start + 1_600)).map((slot) => slot.value)).toEqual(['theirs']);
  });
});
