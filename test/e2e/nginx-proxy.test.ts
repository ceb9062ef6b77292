import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../src/sdk/support.js';
import type { TestApp } from '../helpers/app.js';
import { missingProgram } from '../helpers/system.js';
import { ADMIN, freePort, startOrigin, startRelay } from '../doors/support/helpers.js';

const skip = missingProgram('nginx', 'the load balancer example of docs/scaling.md');

/**
 * The nginx configuration docs/scaling.md gives, taken from the page itself and run in front of a
 * real server: what a long-poll, an event stream and a WebSocket (a support session's channel) need
 * from a proxy must pass through it as written.
 */
function documentedNginxBlock(): string {
  const page = readFileSync(new URL('../../docs/scaling.md', import.meta.url), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(page)?.[1];
  if (!block) throw new Error('docs/scaling.md has no nginx example');
  return block;
}

/** The documented block made runnable here: the upstream is `backend`, nginx listens on `port`. */
function runnableConfig(block: string, backend: URL, port: number, dir: string): string {
  const servers = block.match(/^\s*server \d+\.\d+\.\d+\.\d+:\d+.*;$/gm) ?? [];
  expect(servers.length).toBeGreaterThan(0);
  let http = block;
  for (const [i, line] of servers.entries()) http = http.replace(line, i === 0 ? `    server ${backend.host};` : '');
  http = http.replace(/listen 443 ssl;/, `listen 127.0.0.1:${port};`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `${name}_temp_path ${join(dir, name)};`).join(' ');
  return `daemon off;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')};\nevents {}\nhttp {\n  access_log off;\n  ${temp}\n${http}\n}\n`;
}

describe.skipIf(Boolean(skip))(`the documented nginx configuration in front of pairgate${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let relay: TestApp;
  let origin: TestApp;
  let nginx: ChildProcess;
  let base: string;

  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_TRUST_PROXY: '127.0.0.1' });
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-nginx-'));
    mkdirSync(join(dir, 'logs'));
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), runnableConfig(documentedNginxBlock(), new URL(origin.url), port, dir));
    nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr!.on('data', (data) => (stderr += String(data)));
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 30_000);

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await Promise.allSettled([origin?.close(), relay?.close()]);
  });

  const createGrant = async () =>
    (await (await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"through nginx"}' })).json()) as { id: string; code: string };

  it('a long-poll waits through the proxy and is answered on approval', async () => {
    const grant = await createGrant();
    const waiting = fetch(`${base}/api/v1/grants/${grant.id}?wait=30`).then((r) => r.json() as Promise<{ state: string }>);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fetch(`${base}/api/v1/codes/${grant.code}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect((await waiting).state).toBe('approved');
  });

  it('an event stream is not buffered: its first event arrives while the stream stays open', async () => {
    const grant = await createGrant();
    const controller = new AbortController();
    const response = await fetch(`${base}/api/v1/grants/${grant.id}/events`, { signal: controller.signal });
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('event: state');
    controller.abort();
  });

  it("a support session's WebSocket channel upgrades through the proxy", async () => {
    const supportClient = new SupportOriginClient({ baseUrl: base, ...ADMIN });
    await supportClient.createSession({ id: 'through-nginx', supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    const supporter = await supportClient.attach('through-nginx');
    try {
      expect((await supporter.next((event) => event.type === 'state')).state).toBe('waiting');
    } finally {
      supporter.close();
      await supportClient.deleteSession('through-nginx');
    }
  });
});
