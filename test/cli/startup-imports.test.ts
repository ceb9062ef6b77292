import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const cli = join(process.cwd(), 'dist/cli/main.js');

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}, 120_000);

/**
 * Every module URL that `pairgate <args>` loads, recorded by a module resolve hook (module.register)
 * that appends each resolved URL to a file.
 */
function modulesLoadedBy(args: string[]): string[] {
  const { register, log } = resolveLogger();
  try {
    execFileSync('node', ['--import', pathToFileURL(register).href, cli, ...args], { encoding: 'utf8', stdio: 'pipe' });
  } catch {
    // A command that fails (no box identity, say) has still loaded what it needed to get there.
  }
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

/** Every module URL `pairgate serve` has loaded once it prints that it listens (it is then stopped). */
async function modulesLoadedByServe(): Promise<string[]> {
  const { register, log } = resolveLogger();
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-imports-data-'));
  const child = spawn('node', ['--import', pathToFileURL(register).href, cli, 'serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('pairgate listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

/** A module resolve hook (module.register) appending each resolved URL to `log`, and the file that registers it. */
function resolveLogger(): { register: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pairgate-imports-'));
  const log = join(dir, 'resolved.txt');
  writeFileSync(log, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return { register, log };
}

/** What only some commands need, and takes long to load: X.509, TLS pairing, the server, WebSockets. */
const HEAVY = [/@peculiar\/x509/, /\/doors\/lan\/(connect|join|offer|doctor)\.js/, /\/doors\/registry\/box-identity\.js/, /\/server\/start\.js/, /\/sdk\/support\.js/, /\/node_modules\/ws\//];

describe('CLI start-up', () => {
  it('--help and version load none of the heavy modules a single command needs (they load in its action)', () => {
    for (const args of [['--help'], ['version']]) {
      const loaded = modulesLoadedBy(args);
      expect(loaded.some((url) => url.endsWith('/dist/cli/main.js'))).toBe(true); // the hook saw the CLI load
      expect(loaded.filter((url) => HEAVY.some((pattern) => pattern.test(url)))).toEqual([]);
    }
  });

  it('a command loads what it needs when it runs, and works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-box-'));
    execFileSync('node', [cli, 'box', 'init', '--dir', dir], { encoding: 'utf8' });
    const loaded = modulesLoadedBy(['box', 'id', '--dir', dir]);
    expect(loaded.some((url) => /\/doors\/registry\/box-identity\.js/.test(url))).toBe(true);
    const fingerprint = execFileSync('node', [cli, 'box', 'id', '--dir', dir], { encoding: 'utf8' }).trim();
    expect(fingerprint).toMatch(/^[a-z2-7]{52}$/);
  });

  it('serve, on its embedded default, loads none of the libraries only some servers use (they load on first use)', async () => {
    const loaded = await modulesLoadedByServe();
    expect(loaded.some((url) => url.endsWith('/dist/server/start.js'))).toBe(true); // the hook saw the server load
    // X.509 (a box's first identity, a DNS listener's certificate), mail (sign-ups, resets), ACME,
    // and the PostgreSQL and Redis clients: together a fifth of a second or more and several MiB of heap.
    const optional = [/\/node_modules\/@peculiar\/x509\//, /\/node_modules\/reflect-metadata\//, /\/node_modules\/nodemailer\//, /\/node_modules\/acme-client\//, /\/node_modules\/pg\//, /\/node_modules\/ioredis\//];
    expect(loaded.filter((url) => optional.some((pattern) => pattern.test(url)))).toEqual([]);
  }, 60_000);
});
