import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { keepAnnouncing, readBoxMessage, RegistryClient, type AnnouncementBody } from '../../src/sdk/registry.js';
import { createSelfSigned } from '../../src/doors/registry/self-signed.js';

describe('SDK registry helpers', () => {
  it('readBoxMessage hands on only http(s) origins', () => {
    const entry = { public_ip: '1.2.3.4', client: 'c', timestamp: 1 };
    expect(readBoxMessage({ ...entry, message: JSON.stringify({ local_origin: 'https://10.0.0.1:4443/x', name: 'Box' }) })).toMatchObject({ localOrigin: 'https://10.0.0.1:4443', name: 'Box' });
    expect(readBoxMessage({ ...entry, message: JSON.stringify({ local_origin: 'javascript:alert(1)' }) }).localOrigin).toBeNull();
    expect(readBoxMessage({ ...entry, message: 'not json' })).toMatchObject({ localOrigin: null, tunnelOrigin: null, name: null });
  });

  it('keepAnnouncing announces at once, again when the announcement changes, and on its period', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += String(c)));
      req.on('end', () => {
        seen.push((JSON.parse(body) as { local_origin: string }).local_origin);
        res.setHeader('content-type', 'application/json');
        res.end('{"status":"registered"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const keys = await createSelfSigned({ commonName: 'announcer' });
    let origin = 'https://10.0.0.1';
    const body = (): AnnouncementBody => ({ fingerprint: 'a'.repeat(52), local_origin: origin });
    const stop = keepAnnouncing(new RegistryClient({ baseUrl: url }), keys, body, { intervalMs: 600, checkMs: 50 });
    try {
      await expect.poll(() => seen.length, { timeout: 2000 }).toBe(1);
      origin = 'https://10.0.0.2'; // the local IP changed
      await expect.poll(() => seen.at(-1), { timeout: 2000 }).toBe('https://10.0.0.2');
      const changedAt = seen.length;
      await expect.poll(() => seen.length, { timeout: 3000 }).toBeGreaterThan(changedAt); // the periodic re-announcement
      expect(seen.slice(0, 2)).toEqual(['https://10.0.0.1', 'https://10.0.0.2']);
    } finally {
      stop();
      server.close();
    }
  });

  it('boxLocalIPv4 (the package entry\'s) gives the routed address over a Docker bridge listed first, where the deprecated localIPv4 gives the bridge', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-sdk-ipv4-'));
    try {
      const interfaces = join(dir, 'interfaces');
      const route = join(dir, 'route');
      writeFileSync(interfaces, 'docker0 172.17.0.1\neth0 192.168.77.10');
      writeFileSync(route, '192.168.77.10');
      const sdk = new URL('../../dist/sdk/index.js', import.meta.url).href;
      const script = `const sdk = await import(${JSON.stringify(sdk)}); console.log(JSON.stringify([await sdk.boxLocalIPv4(), sdk.localIPv4()]));`;
      const preload = fileURLToPath(new URL('../cli/fixtures/fake-interfaces.cjs', import.meta.url));
      const out = execFileSync(process.execPath, ['-r', preload, '--input-type=module', '-e', script], {
        env: { ...process.env, PAIRGATE_TEST_INTERFACES_FILE: interfaces, PAIRGATE_TEST_ROUTE_FILE: route },
        encoding: 'utf8',
      });
      expect(JSON.parse(out)).toEqual(['192.168.77.10', '172.17.0.1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
