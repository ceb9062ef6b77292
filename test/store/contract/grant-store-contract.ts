import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeFormat } from '../../../src/core/codes.js';
import { latestWindowEnd, ManualClock } from '../../../src/core/clock.js';
import { randomId } from '../../../src/core/ids.js';
import { GrantEngine } from '../../../src/engine/grant-engine.js';
import type { GrantPatch } from '../../../src/core/grant.js';
import { CodeTakenError, type Stores } from '../../../src/store/ports.js';
import { testCodes, hashCode } from '../../helpers/code-hasher.js';

/** The window of the stepped-clock tests of the ephemeral store's counters, and a day. */
const WINDOW_MS = 60_000;
const DAY_MS = 24 * 3_600_000;

/** Options of the contract run. */
export interface ContractOptions {
  /**
   * Opens a second instance on the same backing service, as another node would: adapters that
   * serve many nodes must share grants and wake-ups across them.
   */
  openPeer?: () => Promise<Stores>;
  /**
   * Drops the listening connections (PostgreSQL LISTEN, Redis SUBSCRIBE) of the nodes on the
   * backing service and resolves once they are gone, before any has come back.
   */
  dropListeners?: () => Promise<void>;
}

/**
 * The contract every store adapter passes: call it from a test file with a factory that opens the
 * adapter (SQLite, PostgreSQL, Redis, ...). Each adapter must behave identically.
 */
export function grantStoreContract(name: string, open: () => Promise<Stores>, skip?: string, options: ContractOptions = {}): void {
  describe.skipIf(Boolean(skip))(`grant store contract: ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let stores: Stores;
    const clock = new ManualClock(Date.now());
    beforeAll(async () => {
      stores = await open();
    });
    afterAll(async () => {
      await stores?.close();
    });
    const engine = (): GrantEngine => new GrantEngine(stores.grants, stores.notifier, clock, testCodes);

    it('counts live grants of a kind, deletes one with its code, and extends an expiry', async () => {
      const k = kind();
      const format = new CodeFormat({ alphabet: 'digits', length: 6 });
      const a = await engine().create({ kind: k, request: {}, ttlMs: 1_000, codeFormat: format });
      const b = await engine().create({ kind: k, request: {}, ttlMs: 60_000, codeFormat: format, withSecret: true });
      expect(await stores.grants.countLive(k, clock.now())).toBe(2);
      const extended = await stores.grants.update(a.grant.id, a.grant.version, { expiresAt: clock.now() + 5_000 }, clock.now());
      expect(extended?.expiresAt).toBe(clock.now() + 5_000);
      clock.advance(1_500);
      expect((await engine().findByCode(k, format, a.code!))?.id).toBe(a.grant.id);
      expect(await stores.grants.countLive(k, clock.now())).toBe(2);
      expect(await stores.grants.delete(b.grant.id)).toBe(true);
      expect(await stores.grants.delete(b.grant.id)).toBe(false);
      expect(await engine().findByCode(k, format, b.code!)).toBeUndefined();
      expect(await engine().findWithSecret(k, b.grant.id, b.secret!)).toBeUndefined();
      expect(await stores.grants.countLive(k, clock.now())).toBe(1);
      // Nothing expired yet: the extended grant outlives its first expiry.
      expect((await stores.grants.sweepExpired(clock.now()))[k]).toBeUndefined();
    });

    it('counts pending grants: a decision, a deletion or an expiry takes one out; a renewal keeps it', async () => {
      const k = kind();
      const format = new CodeFormat({ alphabet: 'digits', length: 6 });
      const [approved, refused, deleted, renewed, expiring] = await Promise.all(
        [60_000, 60_000, 60_000, 1_000, 1_000].map((ttlMs) => engine().create({ kind: k, request: {}, ttlMs, codeFormat: format })),
      );
      expect(await stores.grants.countPending(k, clock.now())).toBe(5);
      await engine().approve(approved!.grant.id, { ok: true });
      await engine().refuse(refused!.grant.id, { ok: false });
      expect(await stores.grants.countPending(k, clock.now())).toBe(3);
      expect(await stores.grants.countLive(k, clock.now())).toBe(5);
      expect(await stores.grants.delete(deleted!.grant.id)).toBe(true);
      await stores.grants.update(renewed!.grant.id, renewed!.grant.version, { expiresAt: clock.now() + 5_000 }, clock.now());
      expect(await stores.grants.countPending(k, clock.now())).toBe(2);
      clock.advance(1_500);
      // `expiring` has expired; `renewed` still waits.
      expect(await stores.grants.findById(expiring!.grant.id, clock.now())).toBeUndefined();
      expect(await stores.grants.countPending(k, clock.now())).toBe(1);
      await stores.grants.sweepExpired(clock.now());
      expect(await stores.grants.countPending(k, clock.now())).toBe(1);
      await engine().redeem(approved!.grant.id);
      expect(await stores.grants.countPending(k, clock.now())).toBe(1);
      await engine().refuse(renewed!.grant.id);
      expect(await stores.grants.countPending(k, clock.now())).toBe(0);
      expect(await stores.grants.countLive(k, clock.now())).toBe(3);
    });

    it('the message bus delivers to this node at once, by topic, until a listener stops', async () => {
      const topic = `t-${randomId(6)}`;
      const heard: string[] = [];
      const other: string[] = [];
      const stop = stores.bus.listen(topic, (message) => heard.push(message));
      stores.bus.listen(`${topic}-other`, (message) => other.push(message));
      await stores.bus.broadcast(topic, 'one');
      expect(heard).toEqual(['one']);
      stop();
      await stores.bus.broadcast(topic, 'two');
      expect(heard).toEqual(['one']);
      expect(other).toEqual([]);
    });

    if (options.openPeer) it('the message bus carries messages to another node, in order, large ones whole', async () => {
      const peer = await options.openPeer!();
      try {
        const topic = `t-${randomId(6)}`;
        const large = 'é'.repeat(20_000); // 40 KB of UTF-8: over PostgreSQL's NOTIFY limit
        const sent = ['first', large, ...Array.from({ length: 20 }, (_, i) => `m${i}`)];
        const heard: string[] = [];
        const all = new Promise<void>((resolve) => {
          peer.bus.listen(topic, (message) => {
            heard.push(message);
            if (heard.length === sent.length) resolve();
          });
        });
        // Let the peer's subscription reach the server (Redis SUBSCRIBE is already on; LISTEN too).
        await new Promise((resolve) => setTimeout(resolve, 50));
        await Promise.all(sent.map((message) => stores.bus.broadcast(topic, message)));
        await all;
        expect(heard.length).toBe(sent.length);
        expect(heard).toEqual(sent);
      } finally {
        await peer.close();
      }
    });

    // Only adapters that serve many nodes have a peer to test with (SQLite serves one).
    if (options.openPeer) it('shares grants with another node and wakes a waiter there within milliseconds', async () => {
      const peer = await options.openPeer!();
      try {
        const realClock = { now: () => Date.now() };
        const here = new GrantEngine(stores.grants, stores.notifier, realClock, testCodes);
        const there = new GrantEngine(peer.grants, peer.notifier, realClock, testCodes);
        const k = kind();
        const format = new CodeFormat({ alphabet: 'base32', length: 8 });
        const { grant, code } = await here.create({ kind: k, request: { from: 'here' }, ttlMs: 60_000, codeFormat: format });
        const found = await there.findByCode(k, format, code!);
        expect(found?.id).toBe(grant.id);
        const waiting = here.waitForChange(grant.id, grant.version, 10_000);
        // Let the waiter subscribe before the other node decides.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const approvedAt = Date.now();
        await there.approve(grant.id, { by: 'there' });
        const woken = await waiting;
        const latency = Date.now() - approvedAt;
        expect(woken?.state).toBe('approved');
        expect(woken?.result).toEqual({ by: 'there' });
        expect(latency).toBeLessThan(500);
        const counts = await Promise.all([here, there].map((e) => e.redeem(grant.id).then(() => 1, () => 0)));
        expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
      } finally {
        await peer.close();
      }
    });
    // A change notified while a node's listener was away never reaches it: the node reads its
    // waiters' grants again once it listens again, instead of leaving them until their timeout.
    if (options.openPeer && options.dropListeners) it('wakes a waiter whose change was notified while its listening connection was down, once it is back', async () => {
      const peer = await options.openPeer!();
      try {
        const realClock = { now: () => Date.now() };
        const here = new GrantEngine(stores.grants, stores.notifier, realClock, testCodes);
        const there = new GrantEngine(peer.grants, peer.notifier, realClock, testCodes);
        const { grant } = await there.create({ kind: kind(), request: {}, ttlMs: 60_000 });
        const timeoutMs = 20_000;
        const started = Date.now();
        const waiting = here.waitForChange(grant.id, grant.version, timeoutMs);
        await new Promise((resolve) => setTimeout(resolve, 50));
        await options.dropListeners!();
        await there.approve(grant.id, { by: 'there' });
        const woken = await waiting;
        expect(woken?.state).toBe('approved');
        // Without the re-read on reconnect the waiter would answer only at its timeout.
        expect(Date.now() - started).toBeLessThan(timeoutMs / 2);
      } finally {
        await peer.close();
      }
    });

    const kind = (): string => `test-${randomId(6)}`;

    it('creates a pending grant and finds it by id, code and secret', async () => {
      const k = kind();
      const format = new CodeFormat({ alphabet: 'base32', length: 8, checkCharacter: true });
      const { grant, code, secret } = await engine().create({ kind: k, request: { a: 1 }, ttlMs: 60_000, codeFormat: format, withSecret: true });
      expect(grant.state).toBe('pending');
      expect(grant.version).toBe(1);
      expect((await engine().get(grant.id))?.request).toEqual({ a: 1 });
      expect((await engine().findByCode(k, format, code!))?.id).toBe(grant.id);
      expect((await engine().findWithSecret(k, grant.id, secret!))?.id).toBe(grant.id);
      expect(await engine().findByCode(`${k}-other`, format, code!)).toBeUndefined();
      expect(await engine().findWithSecret(k, grant.id, 'wrong-secret-value')).toBeUndefined();
      expect(await engine().findWithSecret(`${k}-other`, grant.id, secret!)).toBeUndefined();
      // A grant made without a secret matches no secret, not even an empty one.
      const plain = await engine().create({ kind: k, request: {}, ttlMs: 60_000 });
      expect(await engine().findWithSecret(k, plain.grant.id, '')).toBeUndefined();
      expect(await engine().findWithSecret(k, plain.grant.id, secret!)).toBeUndefined();
      // Nothing in clear: the store holds hashes only.
      expect(grant.codeHash).not.toContain(code!);
      expect(grant.secretHash).not.toBe(secret);
    });

    it('never returns an expired grant', async () => {
      const k = kind();
      const format = new CodeFormat({ alphabet: 'digits', length: 6 });
      const { grant, code, secret } = await engine().create({ kind: k, request: {}, ttlMs: 1_000, codeFormat: format, withSecret: true });
      clock.advance(1_000);
      expect(await engine().get(grant.id)).toBeUndefined();
      expect(await engine().findByCode(k, format, code!)).toBeUndefined();
      expect(await engine().findWithSecret(k, grant.id, secret!)).toBeUndefined();
      await expect(engine().approve(grant.id)).rejects.toMatchObject({ status: 404 });
      expect(await stores.grants.redeem(grant.id, clock.now())).toBeUndefined();
      const swept = await stores.grants.sweepExpired(clock.now());
      expect(swept[k]).toBe(1);
    });

    it('keeps codes unique among live grants and reuses the code of an expired one', async () => {
      const k = kind();
      const codeHash = hashCode(k, 'abc123');
      const first = await stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 1_000, codeHash }, clock.now());
      await expect(stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 1_000, codeHash }, clock.now())).rejects.toBeInstanceOf(CodeTakenError);
      clock.advance(1_001);
      const second = await stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 1_000, codeHash }, clock.now());
      expect(second.id).not.toBe(first.id);
      expect((await stores.grants.findByCode(k, codeHash, clock.now()))?.id).toBe(second.id);
    });

    it('gives a code to exactly one of several concurrent creators, without failing the others', async () => {
      const k = kind();
      const taken = hashCode(k, 'same-code');
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 5 }, () => stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 60_000, codeHash: taken }, clock.now())),
        ...Array.from({ length: 5 }, (_, i) => stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 60_000, codeHash: hashCode(k, `other-${i}`) }, clock.now())),
      ]);
      expect(outcomes.slice(0, 5).filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const loser of outcomes.slice(0, 5).filter((o) => o.status === 'rejected')) expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(CodeTakenError);
      expect(outcomes.slice(5).every((o) => o.status === 'fulfilled')).toBe(true);
    });

    it('allocates distinct codes for many grants in a small code space', async () => {
      const k = kind();
      const format = new CodeFormat({ alphabet: 'digits', length: 3 }); // 1000 codes
      const created = await Promise.all(Array.from({ length: 200 }, () => engine().create({ kind: k, request: {}, ttlMs: 60_000, codeFormat: format })));
      expect(new Set(created.map((c) => c.code)).size).toBe(200);
    });

    it('redeems once under 50 concurrent callers', async () => {
      const { grant } = await engine().create({ kind: kind(), request: {}, ttlMs: 60_000 });
      await engine().approve(grant.id, { token: 't' });
      const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => engine().redeem(grant.id)));
      const winners = outcomes.filter((o) => o.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      expect((winners[0] as PromiseFulfilledResult<{ state: string; result: unknown }>).value).toMatchObject({ state: 'redeemed', result: { token: 't' } });
      for (const loser of outcomes.filter((o) => o.status === 'rejected')) {
        expect((loser as PromiseRejectedResult).reason).toMatchObject({ status: 409, code: 'grant_redeemed' });
      }
    });

    it('lets exactly one of 50 concurrent deciders approve or refuse', async () => {
      const { grant } = await engine().create({ kind: kind(), request: {}, ttlMs: 60_000 });
      const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => (i % 2 ? engine().approve(grant.id, { i }) : engine().refuse(grant.id, { i }))));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const final = await engine().get(grant.id);
      expect(final?.version).toBe(2);
    });

    it('refuses illegal transitions with typed errors', async () => {
      const { grant } = await engine().create({ kind: kind(), request: {}, ttlMs: 60_000 });
      await expect(engine().redeem(grant.id)).rejects.toMatchObject({ code: 'grant_pending', status: 409 });
      await engine().refuse(grant.id);
      await expect(engine().approve(grant.id)).rejects.toMatchObject({ code: 'grant_refused' });
    });

    it('compare-and-set rejects a stale version', async () => {
      const { grant } = await engine().create({ kind: kind(), request: { n: 0 }, ttlMs: 60_000 });
      const next = await stores.grants.update(grant.id, grant.version, { request: { n: 1 } }, clock.now());
      expect(next?.version).toBe(grant.version + 1);
      expect(await stores.grants.update(grant.id, grant.version, { request: { n: 2 } }, clock.now())).toBeUndefined();
      expect((await engine().get(grant.id))?.request).toEqual({ n: 1 });
    });

    it('an update sets exactly the fields it is given, in any combination, and leaves the others', async () => {
      const k = kind();
      const code = hashCode(k, 'u1');
      const created = await stores.grants.create({ id: randomId(), kind: k, request: { n: 0 }, ttlMs: 60_000, codeHash: code }, clock.now());
      // Each patch a different set of columns, some repeated after others, a null result among them.
      const patches: GrantPatch[] = [
        { state: 'approved', result: { user: 'ana' } },
        { result: null },
        { request: { n: 1 }, expiresAt: created.expiresAt + 1_000 },
        { state: 'refused', result: { reason: 'no' }, codeHash: null },
        { request: { n: 2 } },
      ];
      let expected = { ...created } as Record<string, unknown>;
      let version = created.version;
      for (const patch of patches) {
        const updated = await stores.grants.update(created.id, version, patch, clock.now());
        version += 1;
        expected = { ...expected, ...patch, version };
        const stored = await stores.grants.findById(created.id, clock.now());
        for (const grant of [updated, stored]) {
          expect(grant, JSON.stringify(patch)).toMatchObject({ state: expected.state, request: expected.request, result: expected.result, expiresAt: expected.expiresAt, codeHash: expected.codeHash, version });
        }
      }
      // The code was spent by the null codeHash; a stale version changes nothing.
      expect(await stores.grants.findByCode(k, code, clock.now())).toBeUndefined();
      expect(await stores.grants.update(created.id, version - 1, { state: 'pending' }, clock.now())).toBeUndefined();
      expect((await stores.grants.findById(created.id, clock.now()))?.state).toBe('refused');
      // Nor does an update of an expired grant.
      const short = await stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 1_000 }, clock.now());
      expect(await stores.grants.update(short.id, short.version, { state: 'approved' }, clock.now() + 2_000)).toBeUndefined();
    });

    it('moves a grant to a new code only when no live grant holds it', async () => {
      const k = kind();
      const [codeA, codeB, codeC] = ['a1', 'b2', 'c3'].map((c) => hashCode(k, c)) as [string, string, string];
      const a = await stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 60_000, codeHash: codeA }, clock.now());
      const b = await stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 60_000, codeHash: codeB }, clock.now());
      await expect(stores.grants.update(a.id, a.version, { codeHash: codeB }, clock.now())).rejects.toBeInstanceOf(CodeTakenError);
      expect((await stores.grants.findByCode(k, codeB, clock.now()))?.id).toBe(b.id);
      const moved = await stores.grants.update(a.id, a.version, { codeHash: codeC }, clock.now());
      expect(moved?.codeHash).toBe(codeC);
      expect(await stores.grants.findByCode(k, codeA, clock.now())).toBeUndefined();
      expect((await stores.grants.findByCode(k, codeC, clock.now()))?.id).toBe(a.id);
      // The old code is free again.
      const c = await stores.grants.create({ id: randomId(), kind: k, request: {}, ttlMs: 60_000, codeHash: codeA }, clock.now());
      expect((await stores.grants.findByCode(k, codeA, clock.now()))?.id).toBe(c.id);
    });

    it('spends the code on approval', async () => {
      const k = kind();
      const format = new CodeFormat({ alphabet: 'base20', length: 8 });
      const { grant, code } = await engine().create({ kind: k, request: {}, ttlMs: 60_000, codeFormat: format });
      await engine().approve(grant.id);
      expect(await engine().findByCode(k, format, code!)).toBeUndefined();
    });

    it('counts failed attempts', async () => {
      const { grant } = await engine().create({ kind: kind(), request: {}, ttlMs: 60_000 });
      expect(await engine().recordFailedAttempt(grant.id)).toBe(1);
      expect(await engine().recordFailedAttempt(grant.id)).toBe(2);
      expect((await engine().get(grant.id))?.attempts).toBe(2);
      expect(await engine().recordFailedAttempt('no-such-grant')).toBe(0);
    });

    it('wakes a waiter on change, and at expiry', async () => {
      const realClock = { now: () => Date.now() };
      const live = new GrantEngine(stores.grants, stores.notifier, realClock, testCodes);
      const { grant } = await live.create({ kind: kind(), request: {}, ttlMs: 60_000 });
      const started = Date.now();
      const waiting = live.waitForChange(grant.id, grant.version, 10_000);
      setTimeout(() => void live.approve(grant.id, { ok: true }), 50);
      const woken = await waiting;
      expect(woken?.state).toBe('approved');
      expect(Date.now() - started).toBeLessThan(5_000);

      const short = await live.create({ kind: kind(), request: {}, ttlMs: 300 });
      const gone = await live.waitForChange(short.grant.id, short.grant.version, 10_000);
      expect(gone).toBeUndefined();
    });

    it('answers a waiter at once when the change already happened', async () => {
      const { grant } = await engine().create({ kind: kind(), request: {}, ttlMs: 60_000 });
      await engine().approve(grant.id);
      const result = await engine().waitForChange(grant.id, grant.version, 10_000);
      expect(result?.state).toBe('approved');
    });

    it('ephemeral store: counters, set-if-absent, single-use take, expiry, prefix listing', async () => {
      const prefix = `t:${randomId(6)}:`;
      const e = stores.ephemeral;
      const counts = await Promise.all(Array.from({ length: 20 }, () => e.increment(`${prefix}n`, 1_000, clock.now())));
      expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      clock.advance(1_001);
      expect((await e.increment(`${prefix}n`, 1_000, clock.now())).count).toBe(1);
      // A decrement: one less, the end kept; never below zero, never on an expired or absent key.
      const end = (await e.increment(`${prefix}n`, 1_000, clock.now())).resetAt;
      await Promise.all([e.decrement(`${prefix}n`, clock.now()), e.decrement(`${prefix}n`, clock.now()), e.decrement(`${prefix}n`, clock.now())]);
      expect(await e.get(`${prefix}n`, clock.now())).toBe('0');
      expect(await e.increment(`${prefix}n`, 1_000, clock.now())).toEqual({ count: 1, resetAt: end });
      await e.decrement(`${prefix}absent`, clock.now());
      expect(await e.get(`${prefix}absent`, clock.now())).toBeUndefined();
      expect(await e.setIfAbsent(`${prefix}a`, 'x', 1_000, clock.now())).toBe(true);
      expect(await e.setIfAbsent(`${prefix}a`, 'y', 1_000, clock.now())).toBe(false);
      const takes = await Promise.all(Array.from({ length: 10 }, () => e.take(`${prefix}a`, clock.now())));
      expect(takes.filter((t) => t === 'x')).toHaveLength(1);
      await e.set(`${prefix}b`, 'v', 500, clock.now());
      expect((await e.list(prefix, clock.now())).map((x) => x.key)).toEqual([`${prefix}b`, `${prefix}n`]);
      clock.advance(600);
      expect(await e.get(`${prefix}b`, clock.now())).toBeUndefined();
      // Once `n` (count 1) has expired, giving back to it does not eat into the window a new count starts.
      clock.advance(401);
      await e.decrement(`${prefix}n`, clock.now());
      expect((await e.increment(`${prefix}n`, 1_000, clock.now())).count).toBe(1);
      // Of callers at once, exactly one sets a key; an expired holder is taken over, and a live one kept.
      const racers = await Promise.all(Array.from({ length: 20 }, (_, i) => e.setIfAbsent(`${prefix}r`, `v${i}`, 1_000, clock.now())));
      expect(racers.filter(Boolean)).toHaveLength(1);
      expect(await e.get(`${prefix}r`, clock.now())).toBe(`v${racers.indexOf(true)}`);
      clock.advance(1_001);
      expect(await e.setIfAbsent(`${prefix}r`, 'after', 1_000, clock.now())).toBe(true);
      expect(await e.setIfAbsent(`${prefix}r`, 'late', 1_000, clock.now())).toBe(false);
      expect(await e.get(`${prefix}r`, clock.now())).toBe('after');
    });

    // The wall clock stepped back (NTP correcting a clock that ran a day ahead), or a window opened
    // by a node whose clock is far ahead: an increment told the latest acceptable end restarts a
    // later one from now, keeping its count.
    it('ephemeral store: an increment restarts a window opened by a clock since stepped back, keeping its count', async () => {
      const key = `t:${randomId(6)}:stepped`;
      const e = stores.ephemeral;
      const start = clock.now();
      const at = new ManualClock(start);
      const count = () => e.increment(key, WINDOW_MS, at.now(), latestWindowEnd(at.now(), WINDOW_MS));
      for (let i = 1; i <= 3; i++) expect(await count()).toEqual({ count: i, resetAt: start + WINDOW_MS });
      // A few seconds back (or a node a few seconds behind): within the tolerance, the end holds.
      at.advance(-5_000);
      expect(await count()).toEqual({ count: 4, resetAt: start + WINDOW_MS });
      at.advance(-DAY_MS);
      const restarted = at.now() + WINDOW_MS;
      expect(await count()).toEqual({ count: 5, resetAt: restarted });
      expect(await e.list(key, at.now())).toEqual([{ key, value: '5', expiresAt: restarted }]);
      // Restarted, it holds its new end; an increment told no latest end keeps any end.
      at.advance(1_000);
      expect(await count()).toEqual({ count: 6, resetAt: restarted });
      const unbounded = `t:${randomId(6)}:unbounded`;
      await e.increment(unbounded, WINDOW_MS, start);
      expect(await e.increment(unbounded, WINDOW_MS, start - DAY_MS)).toEqual({ count: 2, resetAt: start + WINDOW_MS });
      // The restarted window ends after its length: a new count starts.
      at.advance(WINDOW_MS);
      expect(await count()).toEqual({ count: 1, resetAt: at.now() + WINDOW_MS });
    });

    // A hold (a lease, a numbered slot) renewed or released by a holder that stalled past its
    // lifetime must not take back, nor free, what another holder took meanwhile.
    it('ephemeral store: renewIfHeld and deleteIfHeld act only while the key is live and holds the value', async () => {
      const prefix = `t:${randomId(6)}:hold:`;
      const e = stores.ephemeral;
      const start = clock.now();
      await e.set(`${prefix}a`, 'mine', 1_000, start);
      // Read first, so a store that caches what it read must forget it on each of these writes.
      expect(await e.get(`${prefix}a`, start)).toBe('mine');
      // Held: renewed to end ttlMs from now, its value kept.
      expect(await e.renewIfHeld(`${prefix}a`, 'mine', 5_000, start + 500)).toBe(true);
      expect(await e.list(`${prefix}a`, start + 500)).toEqual([{ key: `${prefix}a`, value: 'mine', expiresAt: start + 5_500 }]);
      expect(await e.get(`${prefix}a`, start + 5_000)).toBe('mine');
      // Another value: false, and nothing changes.
      expect(await e.renewIfHeld(`${prefix}a`, 'theirs', 60_000, start + 600)).toBe(false);
      expect(await e.deleteIfHeld(`${prefix}a`, 'theirs', start + 600)).toBe(false);
      expect(await e.list(`${prefix}a`, start + 600)).toEqual([{ key: `${prefix}a`, value: 'mine', expiresAt: start + 5_500 }]);
      // Held: deleted.
      expect(await e.deleteIfHeld(`${prefix}a`, 'mine', start + 700)).toBe(true);
      expect(await e.get(`${prefix}a`, start + 700)).toBeUndefined();
      expect(await e.deleteIfHeld(`${prefix}a`, 'mine', start + 700)).toBe(false);
      expect(await e.renewIfHeld(`${prefix}a`, 'mine', 1_000, start + 700)).toBe(false);
      expect(await e.get(`${prefix}a`, start + 700)).toBeUndefined();
      // Expired, though holding the value: neither renewed (brought back) nor counted as deleted.
      await e.set(`${prefix}b`, 'mine', 1_000, start);
      expect(await e.renewIfHeld(`${prefix}b`, 'mine', 5_000, start + 1_000)).toBe(false);
      expect(await e.get(`${prefix}b`, start + 1_000)).toBeUndefined();
      expect(await e.deleteIfHeld(`${prefix}b`, 'mine', start + 1_001)).toBe(false);
      // Lapsed and taken by another: the first holder's renewal and release leave it to them.
      expect(await e.setIfAbsent(`${prefix}b`, 'theirs', 1_000, start + 1_001)).toBe(true);
      expect(await e.renewIfHeld(`${prefix}b`, 'mine', 5_000, start + 1_002)).toBe(false);
      expect(await e.deleteIfHeld(`${prefix}b`, 'mine', start + 1_002)).toBe(false);
      expect(await e.list(`${prefix}b`, start + 1_002)).toEqual([{ key: `${prefix}b`, value: 'theirs', expiresAt: start + 2_001 }]);
      // Of 50 releases at once with the right value, exactly one deletes.
      await e.set(`${prefix}c`, 'mine', 60_000, start);
      const deletions = await Promise.all(Array.from({ length: 50 }, () => e.deleteIfHeld(`${prefix}c`, 'mine', start + 1)));
      expect(deletions.filter(Boolean)).toHaveLength(1);
      expect(await e.get(`${prefix}c`, start + 1)).toBeUndefined();
      // A renewal racing a release: either the release wins (gone) or the renewal (then released).
      await e.set(`${prefix}d`, 'mine', 1_000, start);
      const [renewed, deleted] = await Promise.all([e.renewIfHeld(`${prefix}d`, 'mine', 5_000, start + 1), e.deleteIfHeld(`${prefix}d`, 'mine', start + 1)]);
      expect(deleted).toBe(true);
      expect(typeof renewed).toBe('boolean');
      expect(await e.get(`${prefix}d`, start + 1)).toBeUndefined();
    });

    it('ephemeral store: of 50 increments at once at the moment a stepped-back window restarts, none is lost', async () => {
      const key = `t:${randomId(6)}:race`;
      const e = stores.ephemeral;
      const start = clock.now();
      for (let i = 0; i < 7; i++) await e.increment(key, WINDOW_MS, start, latestWindowEnd(start, WINDOW_MS));
      const now = start - DAY_MS;
      const counts = await Promise.all(Array.from({ length: 50 }, () => e.increment(key, WINDOW_MS, now, latestWindowEnd(now, WINDOW_MS))));
      expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 8 + i));
      expect(new Set(counts.map((c) => c.resetAt))).toEqual(new Set([now + WINDOW_MS]));
      expect(await e.get(key, now)).toBe('57');
    });
  });
}
