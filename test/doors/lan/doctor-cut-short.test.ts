import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { freePort } from '../../helpers/ports.js';

/**
 * A doctor check cut short by its time limit goes on in the background. The listener check opens a
 * TLS listener on all addresses, which the end of the report closes: when that check was cut short
 * before it had opened it, the listener came up after the report and stayed open for good (an open
 * port on the network, and a `pairgate doctor` or an SDK caller that never exits).
 */
vi.mock('../../../src/doors/lan/tls-identity.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/doors/lan/tls-identity.js')>();
  return {
    ...real,
    // A slow machine: the key takes longer than the check may.
    createTlsIdentity: async (...args: Parameters<typeof real.createTlsIdentity>) => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      return real.createTlsIdentity(...args);
    },
  };
});

const { runDoctor } = await import('../../../src/doors/lan/doctor.js');

/** True when something accepts a TCP connection on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

describe('pairgate doctor: a listener check cut short', () => {
  it('leaves no test listener open after the report, even when it comes up later', async () => {
    const port = await freePort();
    const report = await runDoctor({ port, discovery: false, checkTimeoutMs: 200 });
    const listener = report.checks.find((c) => c.name === 'listener')!;
    expect(listener).toMatchObject({ status: 'fail', summary: 'cut short by its time limit' });
    // Long enough for the key (800 ms) and the listen to finish in the background.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await listening(port)).toBe(false);
  }, 15_000);
});
