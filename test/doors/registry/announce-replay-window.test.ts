import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { signAnnouncement } from '../../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

/** Accepted age and skew of a signature in this file (PAIRGATE_REGISTRY_MAX_CLOCK_SKEW_SECONDS). */
const SKEW_SECONDS = 5;

/**
 * A signed announcement passes while its `iat` is within the skew of the registry's clock, so one
 * dated the whole skew ahead passes for twice the skew after it was first seen. Its `jti` must be
 * remembered at least that long: the memory and the window ended in the same millisecond, where
 * a captured announcement could be sent again and taken as new.
 */
describe('a signed announcement\'s jti is remembered for as long as the signature passes', () => {
  let t: TestApp;
  let base: string;
  let kitchen: BoxIdentity;
  // On a whole second: the signature's iat (whole seconds) then lands on the window's last millisecond.
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);

  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_REGISTRY_MAX_CLOCK_SKEW_SECONDS: String(SKEW_SECONDS) }, { clock });
    base = await t.listen();
    kitchen = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-reg-window-')), 'kitchen'), { name: 'kitchen' });
  });
  afterAll(() => t.close());

  it('a signature dated the whole skew ahead, sent again at the last instant it passes, is a replay', async () => {
    const raw = JSON.stringify({ client: kitchen.fingerprint, message: 'ahead' });
    const ahead = await signAnnouncement(kitchen, raw, { now: clock.now() + SKEW_SECONDS * 1000 });
    const first = await httpFrom('127.0.0.1', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: ahead } });
    expect(first.status, first.text).toBe(200);
    // Twice the skew later: the iat is exactly the skew behind now, which still passes.
    clock.advance(2 * SKEW_SECONDS * 1000);
    const again = await httpFrom('127.0.0.2', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: ahead } });
    expect(again.status, again.text).toBe(401);
    expect(again.json.reason).toBe('signature_replayed');
    // A millisecond later the signature itself is too old.
    clock.advance(1);
    const late = await httpFrom('127.0.0.2', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: ahead } });
    expect(late.json.reason).toBe('signature_expired');
  });
});
