import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { missingProgram, unmetRequirement } from '../../helpers/system.js';
import { createDnsApp, resolverFor, ZONE } from './dns-helpers.js';

const run = promisify(execFile);

/**
 * Sends `payload` to 127.0.0.1:`port` in a UDP datagram whose source port is 0, through a raw
 * socket (root only): what anyone on the Internet can send, spoofed or not, and what no ordinary
 * socket can (binding port 0 picks a free one).
 */
async function sendFromPortZero(port: number, payload: Buffer): Promise<void> {
  const script = [
    'import socket, struct, sys',
    'payload = bytes.fromhex(sys.argv[2])',
    's = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)',
    // Source port 0, the destination, the length, checksum 0 ("none", allowed over IPv4).
    's.sendto(struct.pack("!HHHH", 0, int(sys.argv[1]), 8 + len(payload), 0) + payload, ("127.0.0.1", 0))',
  ].join('\n');
  await run('python3', ['-c', script, String(port), payload.toString('hex')]);
}

const skip = missingProgram('python3', 'sending a datagram from source port 0') ?? unmetRequirement(process.getuid?.() === 0, 'a raw socket needs root');

describe.skipIf(skip !== undefined)('DNS over UDP: a query from source port 0', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  // What escaped the server: in production either ends the process (Node 20 exits on both).
  const escaped: unknown[] = [];
  const record = (error: unknown): void => {
    escaped.push(error);
  };
  beforeAll(async () => {
    // One query a second, so the second one goes through the rate limit's truncated answer.
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_UDP_PER_SECOND: '1' }));
  });
  afterAll(() => t.close());
  beforeEach(() => {
    escaped.length = 0;
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
  });
  afterEach(() => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });

  it('is dropped (no answer can go to port 0), not thrown out of the server, answered or rate limited', async () => {
    const query = dnsPacket.encode({ id: 7, type: 'query', questions: [{ type: 'SOA', name: ZONE }] });
    // The first is answered (Node refuses to send to port 0: ERR_SOCKET_BAD_PORT, thrown in a
    // promise nobody caught); the next ones are over the limit (the truncated answer's send threw
    // in the socket's message listener).
    for (let i = 0; i < 4; i++) await sendFromPortZero(runtime.dns.port, query);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(escaped).toEqual([]);
    // And the server still answers (after the rate limit's second).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await resolverFor(runtime.dns.port).resolveSoa(ZONE)).nsname).toBe(`ns1.${ZONE}`);
  });
});
