import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CODE_PROOFS, MAX_ENDPOINTS_PER_ADDRESS, proveAtAnyEndpoint, type CodeEndpoint } from '../../../src/doors/lan/code-dial.js';
import { loadDeviceIdentity, type DeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * The bounds of one join by code (code-dial.ts), against real TLS listeners on several loopback
 * addresses that all answer and all fail the proof, as impostors announcing the device would.
 */
describe('proveAtAnyEndpoint bounds', () => {
  let device: DeviceIdentity;
  const servers: tls.Server[] = [];
  const endpoints: CodeEndpoint[] = [];

  beforeAll(async () => {
    device = await loadDeviceIdentity(deviceDir('code-dial'), 'code-dial');
    // Three listeners on each of six addresses: eighteen endpoints that answer.
    for (let host = 1; host <= 6; host++) {
      for (let n = 0; n < 3; n++) {
        const server = tls.createServer({ key: device.keyPem, cert: device.certPem }, () => undefined);
        await new Promise<void>((resolve) => server.listen(0, `127.0.0.${host}`, resolve));
        servers.push(server);
        endpoints.push({ address: `127.0.0.${host}`, port: (server.address() as AddressInfo).port });
      }
    }
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it(`proves the code at most ${MAX_CODE_PROOFS} times, and dials at most ${MAX_ENDPOINTS_PER_ADDRESS} endpoints of one address`, async () => {
    const proved: string[] = [];
    const failure = await proveAtAnyEndpoint({
      endpoints,
      device,
      dialTimeoutMs: 2000,
      waitMoreMs: 100,
      // Not a wrong code (after which the same key is not tried again): every proof is made.
      prove: async (_channel, socket) => {
        proved.push(`${socket.remoteAddress}:${socket.remotePort}`);
        throw Object.assign(new Error('The other device broke the protocol.'), { code: 'lan_protocol_error' });
      },
      log: () => undefined,
    }).catch((error: Error & { code?: string }) => error);
    expect((failure as { code?: string }).code).toBe('lan_protocol_error');
    expect(proved).toHaveLength(MAX_CODE_PROOFS);
    const perAddress = new Map<string, number>();
    for (const where of proved) perAddress.set(where.split(':')[0]!, (perAddress.get(where.split(':')[0]!) ?? 0) + 1);
    expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(MAX_ENDPOINTS_PER_ADDRESS);
  });
});
