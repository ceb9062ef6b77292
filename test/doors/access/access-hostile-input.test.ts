import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { checkShownText } from '../../../src/doors/access/request-text.js';
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
    for (const requestingAppId of ['evil-app\u202E\u2066knab-ruoy\u2069', 'demo-app\u0000x', 'my\u200B-bank-app', 'tab\tseparated', 'bom\uFEFFapp-id', '\u3164\u3164\u3164\u3164\u3164\u3164', '\u2800\u2800\u2800\u2800\u2800\u2800\u2800',
      // Characters a renderer may show as nothing (Default_Ignorable_Code_Point), and a pile of accents.
      'pinned-app\u034F', 'pinned-app\uFE0F', 'pinned-app\u{E0100}', 'pinned-app\u180B', 'pinned-app\u17B4', `pinned-app${'\u0301'.repeat(80)}`]) {
      const answer = await create(server.base, { requestingAppId });
      expect(answer.status, JSON.stringify(requestingAppId)).toBe(400);
      expect(answer.body).toMatchObject({ id: 'invalid_app_id', error: { id: 'invalid_app_id' } });
      expect(String(answer.body.message)).toMatch(/^requestingAppId must not contain control, invisible or text-direction characters/);
    }
  });

  it('accents as languages write them pass: an app id is not refused for its letters', async () => {
    for (const requestingAppId of ['café-app', 'ứng-dụng', 'Ελληνικά']) {
      expect((await create(server.base, { requestingAppId })).status, requestingAppId).toBe(201);
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

/**
 * Half a surrogate pair is no character: no UTF-8 text holds one, and SQLite stored it as three
 * U+FFFD. The texts the pages show (app id, device name, the permissions' names) cannot get one in
 * by any way an auth request is made: a JSON `\u` escape is refused by the server's JSON parser, a
 * form field or a query string can only carry it as bytes or percent-escapes that are not UTF-8,
 * which their parsers refuse, and `checkShownText` refuses one besides (`shared/shown-text.ts`).
 */
describe('POST /access and the auth page with half a surrogate pair', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('is refused in every text the pages show, whichever way it is sent', async () => {
    const base = server.base;
    const json = JSON.stringify(authRequest({ requestingAppId: 'HOLE-app-id', deviceName: 'Phone', requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }] }));
    for (const [field, sent] of [['requestingAppId', '"HOLE-app-id"'], ['deviceName', '"Phone"'], ['streamId', '"diary"'], ['defaultName', '"Diary"']] as const) {
      for (const half of ['\\ud800', '\\uDFFF']) {
        const answer = await createRaw(base, json.replace(sent, `${sent.slice(0, -1)}${half}"`));
        expect({ field, half, status: answer.status, id: answer.body.id }).toEqual({ field, half, status: 400, id: 'body_not_utf8' });
      }
    }
    // A form body: the only spellings of a surrogate are its UTF-8-like bytes (ED A0 80), raw or escaped.
    for (const body of [Buffer.concat([Buffer.from('requestingAppId=abc'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('def&requestedPermissions=x')]), Buffer.from('requestingAppId=abc%ED%A0%80def&requestedPermissions=x')]) {
      const response = await fetch(`${base}/access`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(((await response.json()) as { id: string }).id).toMatch(/^(body_not_utf8|validation_failed)$/);
    }
    // The auth page's query: percent-escapes that are not UTF-8 are refused before the page reads them.
    const created = await create(base, {});
    const page = await fetch(`${base}/access/auth?key=${String(created.body.key)}&requestingAppId=evil%ED%A0%80app`);
    expect(page.status).toBe(400);
    // And the check the pages' texts go through refuses one too, should a way in ever open.
    expect(() => checkShownText('abc\ud800def', 'deviceName', 'validation_failed')).toThrow('deviceName must not contain');
  });
});
