import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest } from './form-client.js';

/** POST /access with a raw JSON text (so bodies JSON.stringify could not even build can be sent). */
async function createRaw(base: string, json: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const create = (base: string, overrides: Record<string, unknown>) => createRaw(base, JSON.stringify(authRequest(overrides)));

describe('POST /access refuses what the consent page cannot show as written', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('an app id with a text-direction override, a control or an invisible character is a 400 invalid_app_id that says why', async () => {
    // U+202E left unclosed turned the sign-in and consent sentences around, naming an app that is not the one asking.
    for (const requestingAppId of ['evil-app\u202E\u2066knab-ruoy\u2069', 'demo-app\u0000x', 'my\u200B-bank-app', 'tab\tseparated', 'bom\uFEFFapp-id', '\u3164\u3164\u3164\u3164\u3164\u3164', '\u2800\u2800\u2800\u2800\u2800\u2800\u2800']) {
      const answer = await create(server.base, { requestingAppId });
      expect(answer.status, JSON.stringify(requestingAppId)).toBe(400);
      expect(answer.body).toMatchObject({ id: 'invalid_app_id', error: { id: 'invalid_app_id' } });
      expect(String(answer.body.message)).toMatch(/^requestingAppId must not contain control, invisible or text-direction characters/);
    }
  });

  it('the device name and every permission field are checked too, naming the field', async () => {
    const device = await create(server.base, { deviceName: 'Phone\u202E' });
    expect(device.status).toBe(400);
    expect(device.body).toMatchObject({ id: 'validation_failed', detail: { field: 'deviceName' } });
    const named = await create(server.base, { requestedPermissions: [{ streamId: 'diary', level: 'read' }, { streamId: 'passwords', level: 'manage', defaultName: 'Weather\u202E' }] });
    expect(named.status).toBe(400);
    expect(named.body).toMatchObject({ id: 'invalid_permissions', detail: { field: 'requestedPermissions[1].defaultName' } });
    const tag = await create(server.base, { requestedPermissions: [{ tag: 'health\u2067', level: 'read' }] });
    expect(tag.body).toMatchObject({ id: 'invalid_permissions', detail: { field: 'requestedPermissions[0].tag' } });
  });

  it('letters of any script, accents and emoji stay welcome', async () => {
    const answer = await create(server.base, { requestingAppId: 'Démo — 日記 app 🎉', deviceName: 'Téléphone d’Anna', requestedPermissions: [{ streamId: 'journal', level: 'read', defaultName: 'Journal intime 📓' }] });
    expect(answer.status).toBe(201);
    expect(answer.body.requestingAppId).toBe('Démo — 日記 app 🎉');
  });
});

describe('POST /access with deeply nested clientData', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('is a 400 invalid_client_data, not a 500 (JSON.parse reads it, JSON.stringify overflowed the stack)', async () => {
    const request = JSON.stringify(authRequest({ clientData: { x: 'HOLE' } }));
    const answer = await createRaw(server.base, request.replace('"HOLE"', `${'['.repeat(20_000)}${']'.repeat(20_000)}`));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ id: 'invalid_client_data', detail: { field: 'clientData' } });
    expect(String(answer.body.message)).toContain('nested at most 32 levels');
    // The server is fine afterwards, and ordinary nesting passes.
    const nested = await create(server.base, { clientData: { 'app-web-auth:description': { content: 'Notes' }, deep: { a: { b: { c: [1, [2, [3]]] } } } } });
    expect(nested.status).toBe(201);
  });
});
