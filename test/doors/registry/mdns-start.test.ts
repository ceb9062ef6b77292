import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { PairgateError } from '../../../src/core/errors.js';
import { advertiseBox, discoverBoxes } from '../../../src/doors/registry/mdns.js';
import { freePort } from '../../helpers/ports.js';

/**
 * mDNS that cannot start is said, with real sockets: `advertiseBox`'s `ready` and `discoverBoxes`
 * reject with a PairgateError naming what failed and what to do, and leave no socket open.
 * Before, both dropped multicast-dns's errors: the advert had no way to tell it was not
 * running, and discovery answered an empty list, "no boxes", of a network it never heard.
 */

const fingerprint = 'b'.repeat(52);
const box = { fingerprint, port: 4443, name: 'Cellar box', addresses: ['127.0.0.1'] };

/** The UDP sockets this process holds open (the test's holder among them). */
const udpSockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'UDPWrap').length;

/** What a promise rejected with (it must reject). */
async function rejectionOf(promise: Promise<unknown>): Promise<PairgateError> {
  const outcome = await promise.then((value) => ({ value }), (error: unknown) => ({ error }));
  if (!('error' in outcome)) throw new Error(`resolved with ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(PairgateError);
  return outcome.error as PairgateError;
}

describe('mDNS that cannot start', () => {
  let holder: dgram.Socket | undefined;
  afterEach(() => {
    holder?.close();
    holder = undefined;
  });

  /** A port held on every address by a socket that does not share it (no SO_REUSEADDR: Linux refuses the second bind). */
  async function portHeldAlone(): Promise<number> {
    const port = await freePort();
    holder = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve) => holder!.bind(port, '0.0.0.0', () => resolve()));
    return port;
  }

  it('advertiseBox on a UDP port another program holds alone: ready rejects with mdns_port_in_use (503) naming the port and the setting, the socket closed', async () => {
    const port = await portHeldAlone();
    const advert = advertiseBox(box, { port, interface: '127.0.0.1', settings: { portSetting: '--mdns-port', interfaceSetting: '--mdns-interface' } });
    const error = await rejectionOf(advert.ready);
    expect({ code: error.code, status: error.status, message: error.message }).toEqual({
      code: 'mdns_port_in_use',
      status: 503,
      message: `mDNS cannot start: UDP port ${port} is taken by a program that does not share it. Stop that program, or choose another port with --mdns-port.`,
    });
    // Only the holder's is left.
    await expect.poll(udpSockets, { timeout: 1_000 }).toBe(1);
    await advert.stop();
  });

  it('discoverBoxes on that port: rejects with the same error, not an empty list, and at once rather than after its time', async () => {
    const port = await portHeldAlone();
    const started = Date.now();
    const error = await rejectionOf(discoverBoxes(10_000, { port, interface: '127.0.0.1' }));
    expect(error.code).toBe('mdns_port_in_use');
    expect(error.message).toBe(`mDNS cannot start: UDP port ${port} is taken by a program that does not share it. Stop that program, or choose another port with the port option.`);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Only the holder's is left.
    await expect.poll(udpSockets, { timeout: 1_000 }).toBe(1);
  });

  it('an interface address no interface has: the group cannot be joined (a mere warning of multicast-dns), mdns_interface_unusable', async () => {
    const own = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address)));
    const foreign = ['192.0.2.77', '198.51.100.77', '203.0.113.77'].find((address) => !own.has(address))!;
    const port = await freePort();
    const advert = advertiseBox(box, { port, interface: foreign });
    const error = await rejectionOf(advert.ready);
    expect(error.code).toBe('mdns_interface_unusable');
    expect(error.message).toMatch(new RegExp(`^mDNS cannot start: joining the multicast group 224\\.0\\.0\\.251 on ${foreign.replaceAll('.', '\\.')} failed \\(E[A-Z]+\\)\\. Give with the interface option the address of an interface that is up and can multicast\\.$`));
    expect((await rejectionOf(discoverBoxes(10_000, { port, interface: foreign }))).code).toBe('mdns_interface_unusable');
  });

  it('started, it resolves ready and is found; stopped before ready, ready rejects with mdns_stopped', async () => {
    const port = await freePort();
    const advert = advertiseBox(box, { port, interface: '127.0.0.1' });
    await advert.ready;
    try {
      const boxes = await discoverBoxes(1_500, { port, interface: '127.0.0.1' });
      expect(boxes.find((found) => found.fingerprint === fingerprint)).toMatchObject({ name: 'Cellar box', port: 4443 });
    } finally {
      await advert.stop();
    }
    const early = advertiseBox(box, { port, interface: '127.0.0.1' });
    const stopping = early.stop();
    expect((await rejectionOf(early.ready)).code).toBe('mdns_stopped');
    await stopping;
  });
});
