import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { cliChildren, type ChildEnd } from './cli-child.js';

/**
 * `box advertise` says "advertising" only once mDNS works, and exits 1 when it cannot start, as
 * its --help says: before, it printed the line before the socket was bound and dropped
 * multicast-dns's errors, so a UDP port another program held alone left it "advertising" nothing
 * (and with --serve serving HTTPS to nobody who could find it) until Ctrl-C.
 */

beforeAll(ensureBuilt, 120_000);

const run = cliChildren();

/** A UDP socket holding `port` on every address without sharing it (no SO_REUSEADDR): Linux then refuses multicast-dns's bind, which asks to share. */
async function holdAlone(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '0.0.0.0', () => resolve());
  });
  return socket;
}

/** How the child ended, or 'still running' after `ms`. */
function endWithin(exited: Promise<ChildEnd>, ms: number): Promise<ChildEnd | 'still running'> {
  return Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref())]);
}

describe('box advertise when mDNS cannot start', () => {
  let holder: dgram.Socket | undefined;
  afterEach(() => {
    holder?.close();
    holder = undefined;
  });

  it('its UDP port held alone by another program: exit 1 with words naming the port and --mdns-port, no "advertising" line; with --serve, the HTTPS server closed too', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-advertise-mdns-')), 'box');
    expect((await runCli(['box', 'init', '--dir', dir], {}, 60_000)).status).toBe(0);
    const mdnsPort = await freePort();
    holder = await holdAlone(mdnsPort);
    const expected = `pairgate: mDNS cannot start: UDP port ${mdnsPort} is taken by a program that does not share it. Stop that program, or choose another port with --mdns-port. [mdns_port_in_use]\n`;

    const plain = run(['box', 'advertise', '--dir', dir, '--mdns-interface', '127.0.0.1', '--mdns-port', String(mdnsPort)]);
    expect(await endWithin(plain.exited, 15_000), plain.out()).toEqual({ code: 1, signal: null });
    expect(plain.out()).toBe('');
    expect(plain.err()).toBe(expected);

    // The HTTPS server --serve had started must not keep the process alive, nor say it serves.
    const serving = run(['box', 'advertise', '--dir', dir, '--serve', '--port', '0', '--host', '127.0.0.1', '--mdns-interface', '127.0.0.1', '--mdns-port', String(mdnsPort)]);
    expect(await endWithin(serving.exited, 15_000), serving.out()).toEqual({ code: 1, signal: null });
    expect(serving.out()).toBe('');
    expect(serving.err()).toBe(expected);
  }, 60_000);
});
