import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, reservePort } from './ports.js';

// The helper as plain JavaScript, for child processes standing in for parallel test files.
const dir = mkdtempSync(join(tmpdir(), 'pairgate-ports-test-'));
const helper = join(dir, 'ports.mjs');
// It imports only Node's own modules, so transpiling the one file is enough.
const source = readFileSync(new URL('./ports.ts', import.meta.url), 'utf8');
writeFileSync(helper, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A child that takes `count` ports with freePort(), prints them (JSON) and stays until killed when `stay`. */
function portTaker(count: number, stay: boolean): { child: ChildProcess; ports: Promise<number[]> } {
  const script = join(dir, `taker-${children.length}.mjs`);
  writeFileSync(script, `import { freePort } from ${JSON.stringify(helper)};
const ports = await Promise.all(Array.from({ length: ${count} }, () => freePort()));
process.stdout.write(JSON.stringify(ports) + '\\n');
${stay ? 'setInterval(() => {}, 1000);' : ''}`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  const ports = new Promise<number[]>((resolve, reject) => {
    child.stdout!.on('data', (data) => {
      out += String(data);
      if (out.endsWith('\n')) resolve(JSON.parse(out) as number[]);
    });
    child.once('exit', (code) => reject(new Error(`port taker exited (${code}) before answering`)));
  });
  return { child, ports };
}

describe.skipIf(process.platform !== 'linux')('freePort: reservations across processes', () => {
  it('two processes asking at the same time never get the same port', async () => {
    // 300 each out of ~20 000: without the reservation, some port would come out twice almost surely.
    const [a, b] = await Promise.all([portTaker(300, true).ports, portTaker(300, true).ports]);
    expect(new Set(a).size).toBe(300);
    expect(new Set(b).size).toBe(300);
    expect(a.filter((port) => b.includes(port))).toEqual([]);
  });

  it('a port is held while its process lives and free again when it exits, by itself or killed', async () => {
    const port = await freePort();
    expect(await reservePort(port)).toBe(false);

    const done = portTaker(1, false);
    const [ended] = await done.ports;
    if (done.child.exitCode === null) await once(done.child, 'exit');
    expect(await reservePort(ended!)).toBe(true);

    const crashed = portTaker(1, true);
    const [killed] = await crashed.ports;
    expect(await reservePort(killed!)).toBe(false);
    crashed.child.kill('SIGKILL');
    await once(crashed.child, 'exit');
    expect(await reservePort(killed!)).toBe(true);
  });

  it('hands out ports outside the kernel\'s ephemeral range, so servers on port 0 never get them', async () => {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const port = await freePort();
    expect(port < low! || port > high!).toBe(true);
  });
});
