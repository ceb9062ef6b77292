import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, ZONE } from './dns-helpers.js';

/** The update API's idle keep-alive (update-api.ts): 10 s, where Fastify's default held a connection 72 s. */
const KEEP_ALIVE_MS = 10_000;
/** Room for a busy machine after the keep-alive (Node checks idle sockets on a timer of its own). */
const BOUND_MS = 14_000;

/**
 * A box's connection to the update API that stays open after its answer, idle: closed by the
 * server after the keep-alive, so idle boxes do not hold the listener's connections
 * (PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS) and the process's descriptors for a minute each.
 */
describe('update API: an idle kept-alive connection (real TLS socket)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('keep-alive');
  });
  afterAll(() => t.close());

  it('is closed by the server 10 s after its last answer', async () => {
    const path = `/v1/dns/${ZONE.split('.').reverse().join('/')}/${box.fingerprint}/www`;
    const { answered, idleMs } = await new Promise<{ answered: string; idleMs: number }>((resolve, reject) => {
      let received = '';
      let answeredAt = 0;
      const socket = connectTls({ host: '127.0.0.1', port: runtime.updateApi!.port, ca: runtime.updateCertPem!, key: box.keyPem, cert: box.certPem, servername: 'localhost', checkServerIdentity: () => undefined });
      socket.setEncoding('utf8');
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the update API kept an idle connection open more than ${BOUND_MS} ms after its answer`));
      }, BOUND_MS + 2_000);
      socket.on('data', (chunk: string) => {
        received += chunk;
        // The answer is whole once its body (JSON) has come: from then on the connection is idle.
        if (!answeredAt && /\r\n\r\n\{.*\}$/s.test(received)) answeredAt = Date.now();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve({ answered: received, idleMs: Date.now() - answeredAt });
      });
      socket.once('secureConnect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    });
    expect(answered).toMatch(/^HTTP\/1\.1 200 /);
    expect(answered.toLowerCase()).toContain('keep-alive');
    expect(idleMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
    expect(idleMs).toBeLessThan(BOUND_MS);
  }, 30_000);
});
