import { renameSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.js';

/**
 * /readyz's 503 carries Retry-After, as every other 503 of the server does and as the OpenAPI
 * document says of it (addSharedResponses adds the header to a route's own 503): it had none, in
 * both its cases, the stores not answering and the server shutting down.
 */
describe('/readyz not ready', () => {
  it('says when to ask again when the stores do not answer', async () => {
    const t = await createTestApp();
    const documented = (await t.app.inject('/docs/json')).json().paths['/readyz'].get.responses['503'];
    expect(documented.headers).toHaveProperty('retry-after');

    const dataDir = t.config.PAIRGATE_DATA_DIR;
    renameSync(dataDir, `${dataDir}-moved`);
    try {
      const down = await t.app.inject('/readyz');
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ status: 'not_ready' });
      expect(down.headers['retry-after']).toBe('5');
    } finally {
      renameSync(`${dataDir}-moved`, dataDir);
    }
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.headers['retry-after']).toBeUndefined();

    await t.close();
  });

  it('says when to ask again while shutting down', async () => {
    // A fresh app: its first request waits for it to be ready, and so comes after close() began.
    const t = await createTestApp();
    const closing = t.app.close();
    const stopping = await t.app.inject('/readyz');
    expect(stopping.statusCode).toBe(503);
    expect(stopping.json()).toEqual({ status: 'shutting_down', checks: {} });
    expect(stopping.headers['retry-after']).toBe('5');
    await closing;
    await t.close();
  });
});
