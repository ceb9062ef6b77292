import { Resolver } from 'node:dns/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitForTxt } from '../../../src/doors/dns/acme-dns01.js';
import { freePort as closedPort } from '../../helpers/ports.js';

// The wall clock stepped during the wait (NTP, a VM resumed): only `Date` is faked, which is what a
// step changes; timers and `performance.now()` run on as they do.
const HOUR_MS = 3_600_000;
const NAME = '_acme-challenge.local.box.example.test';

afterEach(() => {
  vi.useRealTimers();
});

/** A resolver asking a port nothing listens on: every try fails at once, as a record not there yet. */
async function unansweredResolver(): Promise<Resolver> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${await closedPort()}`]);
  return resolver;
}

/** Milliseconds of elapsed time until `waitForTxt` gave up, the wall clock stepped by `stepMs` 100 ms in. */
async function givesUpAfter(stepMs: number, timeoutMs: number): Promise<number> {
  const resolver = await unansweredResolver();
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  const step = setTimeout(() => vi.setSystemTime(Date.now() + stepMs), 100);
  const started = performance.now();
  try {
    await expect(waitForTxt(resolver, NAME, 'x', timeoutMs)).rejects.toMatchObject({ code: 'acme_txt_not_visible' });
    return performance.now() - started;
  } finally {
    clearTimeout(step);
  }
}

describe('waitForTxt waits its --timeout of elapsed time whatever the wall clock does', () => {
  it('does not give up at the next try when the clock steps forward an hour', async () => {
    // Tries at 0, 0.1, 0.3, 0.7 and 1.5 s; the next pause (1.6 s) would end past the 3 s: given up then.
    expect(await givesUpAfter(HOUR_MS, 3_000)).toBeGreaterThanOrEqual(1_400);
  });

  it('gives up within its time when the clock steps back an hour', async () => {
    expect(await givesUpAfter(-HOUR_MS, 3_000)).toBeLessThan(5_000);
  }, 10_000);
});
