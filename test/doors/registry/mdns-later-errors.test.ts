import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PairgateError } from '../../../src/core/errors.js';

/**
 * What goes wrong once an advert runs reaches `onError` (the CLI prints it as a warning), each
 * failure once while it lasts, instead of being dropped. A running socket's failures cannot be
 * caused at will on loopback, so multicast-dns is replaced here by an emitter that reports as it
 * does (node_modules/multicast-dns/index.js): 'networkInterface' and 'ready' at start, join
 * failures as 'warning' with syscall addMembership, send failures to the send's callback only.
 */

class FakeMdns extends EventEmitter {
  /** The callbacks of the sends made, in order: the test decides how each ends. */
  readonly sends: ((error: Error | null) => void)[] = [];
  respond(_response: unknown, callback?: (error: Error | null) => void): void {
    this.sends.push(callback ?? (() => undefined));
  }
  destroy(callback?: () => void): void {
    callback?.();
  }
}

let fake: FakeMdns;
vi.mock('multicast-dns', () => ({ default: () => (fake = new FakeMdns()) }));
const { advertiseBox } = await import('../../../src/doors/registry/mdns.js');

const box = { fingerprint: 'c'.repeat(52), port: 4443, name: 'Loft box', addresses: ['127.0.0.1'] };
const question = { type: 'query', questions: [{ name: '_pairgate._tcp.local', type: 'PTR' }] };
const systemError = (code: string, syscall: string): Error => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

/** The time the advert reads (`performance.now`): moved on by `ask`. */
let now = 0;

/**
 * A question to the advert, a second after the one before: it answers at most once a second
 * (mdns-answer-pace.test.ts), and only questions from its own link (mdns-off-link.test.ts).
 */
function ask(): void {
  now += 1_000;
  fake.emit('query', question, { address: '127.0.0.1', family: 'IPv4', port: 5353, size: 0 });
}

/** An advert of the fake, started: joined, bound, its announcement sent. */
async function started(options: Parameters<typeof advertiseBox>[1]) {
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  const advert = advertiseBox(box, { port: 5353, interface: '127.0.0.1', ...options });
  fake.emit('networkInterface');
  fake.emit('ready');
  fake.sends.shift()!(null);
  await advert.ready;
  return advert;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('advertiseBox once started', () => {
  it('tells onError of an answer not sent once while it lasts, again after a success; of a join that failed once; of a socket error', async () => {
    const heard: PairgateError[] = [];
    const advert = await started({ onError: (error) => heard.push(error) });
    for (let i = 0; i < 2; i++) {
      ask();
      fake.sends.shift()!(systemError('ENETUNREACH', 'send'));
    }
    expect(heard.map((error) => [error.code, error.message])).toEqual([
      ['mdns_send_failed', 'mDNS: sending to 224.0.0.251:5353 from 127.0.0.1 failed (ENETUNREACH). Check that the network is up and routes multicast, or give the address of another interface with the interface option.'],
    ]);
    ask();
    fake.sends.shift()!(null);
    ask();
    fake.sends.shift()!(systemError('ENETUNREACH', 'send'));
    expect(heard.map((error) => error.code)).toEqual(['mdns_send_failed', 'mdns_send_failed']);

    // multicast-dns tries a failed join again every 5 s, warning each time.
    fake.emit('warning', systemError('EADDRNOTAVAIL', 'addMembership'));
    fake.emit('warning', systemError('EADDRNOTAVAIL', 'addMembership'));
    // A packet that does not decode is a stranger's, not a failure of this box.
    fake.emit('warning', new RangeError('Cannot decode name'));
    fake.emit('error', systemError('EACCES', 'send'));
    expect(heard.slice(2).map((error) => [error.code, error.status])).toEqual([['mdns_interface_unusable', 503], ['mdns_unavailable', 503]]);
    await advert.stop();
    fake.emit('error', systemError('EACCES', 'send'));
    expect(heard).toHaveLength(4);
  });

  it('without onError, a failure is a process warning (printed on stderr), not dropped', async () => {
    const emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const advert = await started({});
    ask();
    fake.sends.shift()!(systemError('ENETUNREACH', 'send'));
    expect(emitWarning).toHaveBeenCalledWith(expect.stringMatching(/^mDNS: sending to 224\.0\.0\.251:5353 from 127\.0\.0\.1 failed \(ENETUNREACH\)/), { code: 'mdns_send_failed' });
    await advert.stop();
  });
});
