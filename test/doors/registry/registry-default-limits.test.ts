import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { signAnnouncement } from '../../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

/** The default of PAIRGATE_REGISTRY_MAX_PER_IP. */
const DEFAULT_CAP = 32;

/**
 * The registry's defaults fit together: a network holding as many boxes as it may, each
 * announcing once a minute (`pairgate box announce`) and once more when its address changes, is
 * within the announcements a network may make in a minute. With 30 a minute, the 31st and 32nd
 * boxes of a full network were refused 429 every minute and dropped off the list.
 */
describe('registry defaults: a full network of boxes keeps announcing', () => {
  let t: TestApp;
  let base: string;
  let boxes: BoxIdentity[];

  beforeAll(async () => {
    t = await createTestApp();
    base = await t.listen();
    const folder = mkdtempSync(join(tmpdir(), 'pairgate-registry-defaults-'));
    boxes = await Promise.all(Array.from({ length: DEFAULT_CAP }, (_, i) => initBoxIdentity(join(folder, `box${i}`), { name: `box${i}` })));
  });
  afterAll(() => t.close());

  async function announce(box: BoxIdentity, origin: string) {
    const raw = JSON.stringify({ fingerprint: box.fingerprint, local_origin: origin });
    const authorization = await signAnnouncement(box, raw, { now: Date.now() });
    return httpFrom('127.0.0.61', `${base}/register`, { method: 'POST', body: raw, headers: { authorization } });
  }

  it(`${DEFAULT_CAP} boxes of one network each announce, then again at a new address, in one minute: all accepted`, async () => {
    for (const round of [10, 11]) {
      for (const [i, box] of boxes.entries()) {
        const answer = await announce(box, `https://192.168.${round}.${i + 2}:4443`);
        expect(answer.status, `${box.fingerprint} round ${round}: ${answer.text}`).toBe(200);
      }
    }
    const listed = await httpFrom('127.0.0.61', `${base}/ping`);
    expect((listed.json as unknown[]).length).toBe(DEFAULT_CAP);
  });
});
