import { describe, expect, it, vi } from 'vitest';
import { freePort } from '../../helpers/ports.js';

/**
 * The doctor's multicast check opens two listeners and an announcer, one after the other. When a
 * later one cannot start (here the announcer: a network refusing to send to the group), the
 * sockets opened before it are closed: they were left open, and a `pairgate doctor` holding them
 * never exited.
 */
vi.mock('../../../src/doors/lan/discovery.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/doors/lan/discovery.js')>();
  return {
    ...real,
    startAnnouncer: async () => {
      throw Object.assign(new Error('send EPERM 239.255.90.90:5454'), { code: 'EPERM' });
    },
  };
});

const { runDoctor } = await import('../../../src/doors/lan/doctor.js');

/** The UDP sockets this process holds open. */
const udpSockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'UDPWrap').length;

describe('lan doctor: a multicast check whose announcer cannot start', () => {
  it('reports the failure and closes the listeners it had opened', async () => {
    const before = udpSockets();
    const report = await runDoctor({ discovery: { interfaceAddress: '127.0.0.1', port: await freePort() }, multicastWaitMs: 100 });
    const multicast = report.checks.find((check) => check.name === 'multicast');
    expect(multicast?.status).toBe('fail');
    expect(multicast?.error).toContain('EPERM');
    await expect.poll(udpSockets, { timeout: 2_000 }).toBe(before);
  }, 30_000);
});
