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

/** nginx with the documented configuration in front of `backend`; resolves once it answers. */
async function startNginx(backend: URL): Promise<{ nginx: ChildProcess; base: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pairgate-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), runnableConfig(documentedNginxBlock(), backend, port, dir));
  const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr!.on('data', (data) => (stderr += String(data)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const answered = await fetch(`${base}/healthz`).then(() => true, () => false);
    if (answered) return { nginx, base };
    if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Stops an nginx started by `startNginx`. */
async function stopNginx(nginx: ChildProcess | undefined): Promise<void> {
  if (!nginx || nginx.exitCode !== null) return;
  const exited = new Promise((resolve) => nginx.once('exit', resolve));
  nginx.kill('SIGQUIT');
  await exited;
}

describe.skipIf(Boolean(skip))(`the documented nginx configuration in front of pairgate${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let relay: TestApp;
  let origin: TestApp;
  let nginx: ChildProcess;
  let base: string;

  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_TRUST_PROXY: '127.0.0.1' });
    ({ nginx, base } = await startNginx(new URL(origin.url)));
  }, 30_000);

  afterAll(async () => {
    await stopNginx(nginx);
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

  it('when no node can answer, says so in pairgate\'s JSON shape with a machine code, not nginx\'s HTML 502 page', async () => {
    // Nothing listens behind this one: every node away (or each refused and was marked failed).
    const away = await startNginx(new URL(`http://127.0.0.1:${await freePort()}`));
    try {
      for (const request of [fetch(`${away.base}/api/v1/grants/some-id`), fetch(`${away.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"x"}' })]) {
        const response = await request;
        expect(response.status).toBe(503);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(response.headers.get('retry-after')).toBe('5');
        expect(await response.json()).toEqual({ error: 'no_node_available', message: 'No pairgate node can answer now. Try again shortly.' });
      }
    } finally {
      await stopNginx(away.nginx);
    }
  });
});
