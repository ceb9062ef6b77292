import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest, getJson, postJson } from './form-client.js';

/** POST /access with a raw JSON text (a body JSON.stringify could not even build). */
async function createRaw(base: string, json: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * serviceInfo is kept with the request and answered in every poll, as clientData is, and its
 * schema bounds only its `name`: it had none of clientData's bounds.
 */
describe('POST /access with an outsized serviceInfo', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('deeply nested is a 400 validation_failed naming it, not a 500 (the store\'s JSON.stringify overflowed the stack)', async () => {
    const request = JSON.stringify(authRequest({ serviceInfo: { name: 'Lab', x: 'HOLE' } }));
    for (const depth of [5_000, 20_000]) {
      const answer = await createRaw(server.base, request.replace('"HOLE"', `${'['.repeat(depth)}${']'.repeat(depth)}`));
      expect(answer.status, String(depth)).toBe(400);
      expect(answer.body).toMatchObject({ id: 'validation_failed', detail: { field: 'serviceInfo' }, error: { id: 'validation_failed' } });
      expect(String(answer.body.message)).toContain('serviceInfo must be nested at most 32 levels');
    }
  });

  it('larger than clientData may be is refused too, and Pryv\'s own service info passes and is polled back', async () => {
    const big = await postJson(`${server.base}/access`, authRequest({ serviceInfo: { name: 'Lab', padding: 'x'.repeat(40_000) } }));
    expect(big.status).toBe(400);
    expect(big.body).toMatchObject({ id: 'validation_failed', detail: { field: 'serviceInfo' } });
    const pryv = { name: 'Pryv Lab', access: 'https://access.pryv.me/access', api: 'https://{username}.pryv.me/', register: 'https://reg.pryv.me', home: 'https://www.pryv.com', support: 'https://pryv.com/helpdesk', terms: 'https://pryv.com/terms', eventTypes: 'https://pryv.github.io/event-types/flat.json', assets: { definitions: 'https://pryv.github.io/assets-pryv.me/index.json' } };
    const created = await postJson(`${server.base}/access`, authRequest({ serviceInfo: pryv }));
    expect(created.status).toBe(201);
    expect((await getJson(String(created.body.poll))).body).toMatchObject({ status: 'NEED_SIGNIN', serviceInfo: pryv });
  });
});
