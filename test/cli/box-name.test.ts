import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';

beforeAll(ensureBuilt, 120_000);

describe('box announce and box advertise check the box name before anything is sent', () => {
  let boxDir: string;
  let listener: Server;
  let server: string;
  const bodies: string[] = [];

  beforeAll(async () => {
    boxDir = join(mkdtempSync(join(tmpdir(), 'pairgate-box-name-')), 'box');
    expect((await runCli(['box', 'init', '--dir', boxDir])).status).toBe(0);
    // A registry that takes every announcement: what reaches it is what the command sent.
    listener = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += String(chunk)));
      request.on('end', () => {
        bodies.push(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"registered"}');
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    server = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  const announce = (name: string) => runCli(['box', 'announce', '--once', '--dir', boxDir, '--server', server, '--local-origin', 'https://192.168.1.20:4443', '--name', name]);

  it('a name with an invisible or text-direction character, or piled accents: exit 2, the flag, the rule and the character named, nothing sent', async () => {
    bodies.length = 0;
    const cases: [string, RegExp][] = [
      ['Kitc\u200bhen', /^pairgate: --name: the box's name must not contain control, invisible or text-direction characters .* \(U\+200B after "Kitc"\): it is shown to people beside the box's fingerprint, and a registry refuses it \(validation_failed\)\. Name the box with visible characters only\./],
      ['\u202eKitchen', /--name: .* \(U\+202E at its start\)/],
      ['Kitchen\u00ad', /--name: .* \(U\+00AD after "Kitchen"\)/],
      ['Ki\u200dtchen', /--name: .* \(U\+0069 U\+200D after "K"\)/],
      ['Ka\u0301\u0302\u0303\u0304', /--name: .*more than three accents on one letter \(U\+0061 U\+0301 U\+0302 U\+0303 U\+0304 after "K"\)/],
    ];
    for (const [name, message] of cases) {
      const result = await announce(name);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/\[invalid_request\]/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    const long = await announce('x'.repeat(101));
    expect(long.status).toBe(2);
    expect(long.stderr).toMatch(/^pairgate: --name: the box's name has 101 characters; a registry takes at most 100 \(validation_failed\)\. Give a shorter one\./);
    expect(bodies).toEqual([]);
  }, 60_000);

  it('letters of any script, accents and emoji sequences pass, as the registry takes them', async () => {
    bodies.length = 0;
    // 100 characters of which some are two UTF-16 units: the registry counts code points.
    for (const name of ['Küche', 'Cuisine de Zoë', '台所', 'Tiếng Việt', 'Family 👨‍👩‍👧 ❤️', '😀'.repeat(100)]) {
      const result = await announce(name);
      expect(result.status, result.stderr).toBe(0);
    }
    expect(bodies.map((body) => (JSON.parse(body) as { name: string }).name)).toEqual(['Küche', 'Cuisine de Zoë', '台所', 'Tiếng Việt', 'Family 👨‍👩‍👧 ❤️', '😀'.repeat(100)]);
  }, 60_000);

  it('box advertise refuses the same characters before mDNS starts (a longer name is cut there, not refused)', async () => {
    const result = await runCli(['box', 'advertise', '--dir', boxDir, '--name', 'Kitc\u200bhen', '--mdns-interface', '127.0.0.1', '--mdns-port', '9']);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^pairgate: --name: the box's name must not contain .* \(U\+200B after "Kitc"\)/);
  }, 60_000);
});
