import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { proveAtAnyEndpoint } from '../../../src/doors/lan/code-dial.js';
import { joinWithCode } from '../../../src/doors/lan/code-join.js';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { WRONG_CODE } from '../../../src/doors/lan/frames.js';
import { WrongCodeError } from '../../../src/doors/lan/lan-errors.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';

/**
 * What `lan join --code` says when it fails, as a person reads it: with the offer's address and
 * port given (`--address`, `--port`) an unreachable offer was "no announced address" and the advice
 * was to dial them with --address and --port, which is what the person had done; and each failure
 * was logged in full before the final error said it again, a wrong code's whole paragraph twice.
 */
const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

/** A loopback port where nothing listens (an offer that has ended, or a mistyped port). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Failure = Error & { code?: string; portClosed?: boolean };

/** What `promise` was refused with; a settled promise fails the test. */
async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  return promise.then(() => { throw new Error('expected a refusal'); }, (error: unknown) => error as Failure);
}

/** The offer's code with its last digit changed: always wrong. */
function wrongCode(code: string): string {
  return `${code.slice(0, -1)}${(Number(code.at(-1)) + 1) % 10}`;
}

describe('lan join --code with --address and --port', () => {
  it('a port where nothing listens: says the address and port were given and what to check, not to dial them directly', async () => {
    const port = await closedPort();
    const lines: string[] = [];
    const failure = await failureOf(joinWithCode('1234-5678', {
      configDir: deviceDir('code-given-closed'), address: '127.0.0.1', port, dialTimeoutMs: 2000, log: (l) => lines.push(l),
    }));
    expect(failure.code).toBe('lan_peer_unreachable');
    expect(failure.portClosed).toBe(true);
    expect(failure.message).toMatch(/^Cannot reach the offer at the address and port given: 127\.0\.0\.1:\d+: /);
    expect(failure.message).toContain('Nothing listens on that port: check that it is the port the offer shows, and that the offer still runs');
    expect(failure.message).not.toContain('announced');
    expect(failure.message).not.toContain('dial them with --address and --port');
    // Said once, in the final error; the log says what is being dialled.
    expect(lines).toEqual([`Dialling 127.0.0.1:${port}; then proving the code.`]);
  });

  it('a wrong code at the address given: the advice is said once, in the final error', async () => {
    const { offer } = await loopbackOffer({ code: true, handshakeTimeoutMs: 5000 });
    offers.push(offer);
    const lines: string[] = [];
    const failure = await failureOf(joinWithCode(wrongCode(offer.code!), {
      configDir: deviceDir('code-given-wrong'), address: '127.0.0.1', port: offer.port, dialTimeoutMs: 2000, log: (l) => lines.push(l),
    }));
    expect(failure.code).toBe('lan_wrong_code');
    expect(failure.message).toBe(WRONG_CODE);
    expect(lines.join('\n')).not.toContain(WRONG_CODE);
    expect(offer.failures()).toBe(1);
  });
});

describe('proveAtAnyEndpoint logs', () => {
  it('logs a wrong code at an announced endpoint in a short line, its advice left to the final error', async () => {
    const device = await loadDeviceIdentity(deviceDir('code-log-wrong'), 'code-log');
    const { offer } = await loopbackOffer({ code: true, handshakeTimeoutMs: 5000 });
    offers.push(offer);
    const lines: string[] = [];
    const failure = await failureOf(proveAtAnyEndpoint({
      endpoints: [{ address: '127.0.0.1', port: offer.port }],
      device,
      dialTimeoutMs: 2000,
      waitMoreMs: 50,
      prove: () => Promise.reject(new WrongCodeError(WRONG_CODE)),
      log: (l) => lines.push(l),
    }));
    expect(failure.code).toBe('lan_wrong_code');
    expect(lines).toEqual([`127.0.0.1:${offer.port}: refused the code (lan_wrong_code).`]);
  });
});
