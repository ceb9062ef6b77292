import { describe, expect, it } from 'vitest';
import { ConfigError, PairgateError } from '../../../src/core/errors.js';
import { grantedScope, parseDeviceClients } from '../../../src/doors/device/clients.js';
import { deviceDoor } from '../../../src/doors/device/device-door.js';
import { deviceCodeOf, parseDeviceCode, USER_CODE_FORMAT } from '../../../src/doors/device/device-grant.js';
import { oauthErrorShape } from '../../../src/doors/device/oauth-errors.js';
import { allDoors } from '../../../src/doors/index.js';
import { loadConfig } from '../../../src/server/config.js';
import { checkConfig } from '../../../src/server/start.js';
import { createTestApp } from '../../helpers/app.js';

const configOf = (env: Record<string, string>) => loadConfig(allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : [])), { env });

describe('device door configuration and parts', () => {
  it('reads clients as names or {name, scopes}', () => {
    const clients = parseDeviceClients('{"tv":"TV","cli":{"name":" CLI ","scopes":["read","read","write"]}}');
    expect(clients.get('tv')).toEqual({ id: 'tv', name: 'TV', scopes: undefined, source: 'config', registration: undefined });
    expect(clients.get('cli')).toEqual({ id: 'cli', name: 'CLI', scopes: ['read', 'write'], source: 'config', registration: undefined });
    expect(parseDeviceClients('  ').size).toBe(0);
  });

  it('stops start-up on bad clients, naming the key', () => {
    for (const raw of ['not json', '[]', '{"a b":"x"}', '{"tv":""}', '{"tv":{"name":"TV","scopes":"read"}}', '{"tv":{"name":"TV","scopes":["a b"]}}', '{"tv":42}']) {
      expect(() => parseDeviceClients(raw), raw).toThrow(ConfigError);
      expect(() => checkConfig(configOf({ PAIRGATE_DEVICE_CLIENTS: raw }), allDoors), raw).toThrow(/PAIRGATE_DEVICE_CLIENTS/);
    }
  });

  it('validates its keys at start-up and checks the brute-force budget of user codes', () => {
    const defaults = configOf({});
    expect(defaults).toMatchObject({ PAIRGATE_DEVICE_ENABLED: true, PAIRGATE_DEVICE_EXPIRES_IN_SECONDS: 600, PAIRGATE_DEVICE_INTERVAL_SECONDS: 5, PAIRGATE_DEVICE_TOKEN_TTL_SECONDS: 3600, PAIRGATE_DEVICE_LONG_POLL: false });
    expect(() => deviceDoor.checkConfig!(defaults)).not.toThrow();
    expect(() => configOf({ PAIRGATE_DEVICE_INTERVAL_SECONDS: '0' })).toThrow(/PAIRGATE_DEVICE_INTERVAL_SECONDS/);
    expect(() => configOf({ PAIRGATE_DEVICE_LONG_POLL: 'maybe' })).toThrow(/PAIRGATE_DEVICE_LONG_POLL/);
    // A million live codes of 34.6 bits for an hour is far beyond the default budget.
    expect(() => deviceDoor.checkConfig!(configOf({ PAIRGATE_DEVICE_MAX_PENDING: '1000000', PAIRGATE_DEVICE_EXPIRES_IN_SECONDS: '3600' }))).toThrow(/PAIRGATE_DEVICE_MAX_PENDING/);
  });

  it('scopes: within the registration, tokens once, none means all registered', () => {
    const cli = { id: 'cli', name: 'CLI', scopes: ['read', 'write'] };
    const open = { id: 'tv', name: 'TV', scopes: undefined };
    expect(grantedScope(cli, undefined)).toBe('read write');
    expect(grantedScope(cli, '  write read write ')).toBe('write read');
    expect(grantedScope(open, undefined)).toBe('');
    expect(grantedScope(open, 'anything:goes')).toBe('anything:goes');
    expect(() => grantedScope(cli, 'admin')).toThrow(expect.objectContaining({ code: 'invalid_scope' }));
    expect(() => grantedScope(open, 'back\\slash')).toThrow(expect.objectContaining({ code: 'invalid_scope' }));
    // A refusal names what the client may ask for: nothing, or the first ten of a long list.
    expect(() => grantedScope({ scopes: [] }, 'read')).toThrow(expect.objectContaining({ message: 'This client may not ask for the scope "read". It is registered with no scope: leave scope out.' }));
    const many = Array.from({ length: 12 }, (_, i) => `s${i}`);
    expect(() => grantedScope({ scopes: many }, 'S0')).toThrow(expect.objectContaining({ message: expect.stringContaining('It may ask for: s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 and 2 more (scopes_supported in /.well-known/oauth-authorization-server)') }));
  });

  it('user codes: base-20, XXXX-XXXX, read in any case with any separators', () => {
    const code = USER_CODE_FORMAT.generate();
    expect(code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
    expect(USER_CODE_FORMAT.format(code)).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(USER_CODE_FORMAT.entropyBits).toBeCloseTo(34.6, 1);
    expect(USER_CODE_FORMAT.parse(` ${code.slice(0, 4).toLowerCase()} ${code.slice(4)} `)).toEqual({ ok: true, code });
    expect(USER_CODE_FORMAT.parse('BCDF-GHJ').ok).toBe(false);
    expect(USER_CODE_FORMAT.parse('BCDF-GHJA').ok).toBe(false);
  });

  it('device codes: grant id and secret, anything else refused before any look-up', () => {
    const id = `${'0'.repeat(12)}${'a'.repeat(22)}`;
    const secret = 'S'.repeat(43);
    expect(parseDeviceCode(deviceCodeOf(id, secret))).toEqual({ id, secret });
    for (const bad of ['', '.', id, `${id}.`, `${id}.${secret}x`, `${id}x.${secret}`, `${id}.${secret}.`]) expect(parseDeviceCode(bad), bad).toBeUndefined();
  });

  it('renders errors in the OAuth shape, turning pairgate codes into invalid_request', () => {
    expect(oauthErrorShape(new PairgateError('slow_down', 400, 'Slow down.', { interval: 10 }))).toEqual({ error: 'slow_down', error_description: 'Slow down.', interval: 10 });
    expect(oauthErrorShape(new PairgateError('validation_failed', 400, 'bad'))).toEqual({ error: 'invalid_request', error_description: 'bad', pairgate_error: 'validation_failed' });
    expect(oauthErrorShape(new PairgateError('rate_limited', 429, 'later', { retryAfterSeconds: 3 }))).toMatchObject({ error: 'rate_limited' });
    expect(oauthErrorShape(new PairgateError('store_unavailable', 503, 'down'))).toMatchObject({ error: 'temporarily_unavailable' });
    expect(oauthErrorShape(new PairgateError('internal_error', 500, 'oops'))).toMatchObject({ error: 'server_error' });
  });

  it('serves nothing when disabled', async () => {
    const t = await createTestApp({ PAIRGATE_DEVICE_ENABLED: 'false' });
    try {
      for (const url of ['/.well-known/oauth-authorization-server', '/device']) expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'POST', url: '/oauth/token', payload: {} })).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
