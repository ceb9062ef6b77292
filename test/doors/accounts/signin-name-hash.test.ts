import { createHash, createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeHasher } from '../../../src/core/codes.js';
import { signInNameKey } from '../../../src/doors/accounts/sign-in-limits.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/** A name someone might type that names no account: guessable, so a plain hash of it is not secret. */
const TYPED = '  Someone.Guessable ';
const NORMALISED = 'someone.guessable';

/** The failure counters of names that name no account, as the embedded database holds them. */
function storedNameKeys(t: TestApp): string[] {
  const db = new Database(join(t.config.PAIRGATE_DATA_DIR, 'pairgate.db'), { readonly: true });
  try {
    return db.prepare<[], { key: string }>("select key from ephemeral where key like 'signin:name:%'").all().map((row) => row.key);
  } finally {
    db.close();
  }
}

/**
 * Failed sign-ins under a name that names no account are counted under a keyed hash of the name,
 * not a plain one: a copy of the store (here the SQLite file) gives no name up to a dictionary.
 */
describe('the failure counter of a name that names no account', () => {
  const keys = [randomBytes(32), randomBytes(32)];
  const apps: TestApp[] = [];
  const bases: string[] = [];
  beforeAll(async () => {
    for (const key of keys) {
      const t = await createTestApp({
        PAIRGATE_CODE_HASH_KEY: key.toString('base64'),
        PAIRGATE_SCRYPT_COST: '10',
        PAIRGATE_TRUST_PROXY: '127.0.0.1',
        PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '3',
        PAIRGATE_SIGNIN_FAILURES_PER_IP: '100',
      });
      apps.push(t);
      bases.push(await t.listen());
    }
  });
  afterAll(() => Promise.all(apps.map((t) => t.close())));

  it('is stored under a keyed hash that depends on the server key, not under SHA-256 of the name', async () => {
    for (const base of bases) expect((await new FormClient(base, { 'x-forwarded-for': '192.0.2.1' }).signIn(TYPED, 'a password typed')).status).toBe(401);
    const stored = apps.map(storedNameKeys);
    expect(stored.map((found) => found.length)).toEqual([1, 1]);
    const [first, second] = [stored[0]![0]!, stored[1]![0]!];
    const plain = `signin:name:${createHash('sha256').update(NORMALISED).digest('base64url')}`;
    expect(first).not.toBe(plain);
    expect(second).not.toBe(plain);
    expect(first).not.toContain(NORMALISED);
    expect(first).not.toBe(second);
    // The key is a sub-key of the code key, never the code key itself.
    keys.forEach((key, i) => {
      expect(stored[i]![0]).not.toBe(`signin:name:${createHmac('sha256', key).update(NORMALISED).digest('base64url')}`);
      const hasher = new CodeHasher(key);
      const nameKey = signInNameKey({ codeHash: (kind, code) => hasher.hash(kind, code) });
      expect(stored[i]![0]).toBe(`signin:name:${createHmac('sha256', nameKey).update(NORMALISED).digest('base64url')}`);
    });
  });

  it('still refuses the name, in any case and with spaces around, once its failures are spent', async () => {
    const base = bases[0]!;
    // Each from its own network, so only the name's budget is spent (3 in all, one above).
    expect((await new FormClient(base, { 'x-forwarded-for': '192.0.2.2' }).signIn('SOMEONE.GUESSABLE', 'another')).status).toBe(401);
    expect((await new FormClient(base, { 'x-forwarded-for': '192.0.2.3' }).signIn('someone.guessable ', 'a third')).status).toBe(401);
    const refused = await new FormClient(base, { 'x-forwarded-for': '192.0.2.4' }).signIn('Someone.guessable', 'a fourth');
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('Too many failed sign-ins with this name.');
    // Another name is still tried.
    expect((await new FormClient(base, { 'x-forwarded-for': '192.0.2.5' }).signIn('someone.else', 'a fifth')).status).toBe(401);
    expect(storedNameKeys(apps[0]!)).toHaveLength(2);
  });
});
