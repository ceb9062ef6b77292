/**
 * The published package as its users get it: `npm pack`, installed into an empty folder, its
 * `pairgate` command run and `pairgate/sdk` imported from JavaScript and TypeScript. What works in
 * the checkout can still break installed: a file left out of `files`, a pin that only the checkout's
 * `overrides` enforce (npm applies a package's overrides when it is the project being installed,
 * never when it is someone's dependency), types the SDK exposes from a development dependency, a
 * file an incremental build left in dist/, a subpath an older TypeScript resolution cannot find.
 *
 * Packed from a copy of the checkout, its `prepack` run as `npm pack` runs it, so the copy's dist/ is
 * cleaned and rebuilt, never the one the other CLI tests run from this checkout.
 *
 * Slow (a full build, and the install compiles better-sqlite3: about 3 minutes on the two-core
 * machines); needs npm, so a machine without it skips, but never under CI=true (`missingProgram`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingProgram } from '../helpers/system.js';

const skip = missingProgram('npm', 'packing and installing the package');
const repo = process.cwd();
const { version, exports: packageExports } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, string | Record<string, string>>;
};

/** The checkout's entries a pack never reads: installed packages, history, runtime and test leftovers. */
const notStaged = new Set(['node_modules', '.git', 'coverage', '.pairgate', 'data', 'tmp']);

/**
 * What an incremental build leaves for a pack to find, planted in the copy's dist/ before packing: the
 * output of a source since removed (an incremental build only writes the outputs of sources it has).
 */
const removedSourceOutput = 'dist/sdk/removed-source.js';

/** One file of `npm pack --json`. */
interface PackedFile { path: string; size: number }

/** What a command printed and how it ended. */
interface Ran { status: number | null; stdout: string; stderr: string }

/**
 * The environment for npm and the installed command: the variables npm sets for the script that ran
 * vitest (`npm test`, `npx`) describe this checkout, and would make the install act on it instead.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(config_(local_prefix|prefix|global|global_prefix)|command|lifecycle_|package_)/i.test(key)) delete env[key];
  }
  return env;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Ran {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

/** Every file under `dir`, as paths relative to the checkout. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(repo, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(repo, join(entry.parentPath, entry.name)));
}

/** The subpaths of `exports` that have types, as a consumer imports them (`pairgate/sdk`). */
function typedSubpaths(): string[] {
  return Object.entries(packageExports)
    .filter(([, target]) => typeof target === 'object' && 'types' in target)
    .map(([subpath]) => `pairgate${subpath.slice(1)}`);
}

/**
 * A copy of the checkout at `stage`, with the checkout's node_modules linked in for the build tools,
 * and a leftover of an earlier build in its dist/.
 */
function stageCheckout(stage: string): void {
  mkdirSync(stage);
  for (const name of readdirSync(repo)) {
    if (!notStaged.has(name)) cpSync(join(repo, name), join(stage, name), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(stage, 'node_modules'), 'junction');
  mkdirSync(join(stage, 'dist/sdk'), { recursive: true });
  writeFileSync(join(stage, removedSourceOutput), 'export {};\n');
}

describe.skipIf(Boolean(skip))('the packed and installed pairgate package', () => {
  let work: string;
  let stage: string;
  let consumer: string;
  let packed: PackedFile[];
  let install: Ran;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'pairgate-packaging-'));
    stage = join(work, 'checkout');
    stageCheckout(stage);
    const pack = run('npm', ['pack', '--json', '--pack-destination', work], stage, 600_000);
    if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    const [result] = JSON.parse(pack.stdout) as [{ filename: string; files: PackedFile[] }];
    packed = result.files;
    consumer = join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // --engine-strict: what an operator who set it gets, and the check that nothing installed asks for
    // a newer Node than the package says it runs on.
    install = run('npm', ['install', '--engine-strict', '--prefer-offline', '--no-audit', '--no-fund', join(work, result.filename)], consumer, 600_000);
  }, 1_200_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the command, the compiled code, the SDK\'s types, every template and static file', () => {
    const paths = new Set(packed.map((file) => file.path));
    const needed = ['package.json', 'README.md', 'LICENSE', 'bin/pairgate.js', 'dist/cli/main.js', 'dist/sdk/index.js', 'dist/sdk/index.d.ts',
      ...filesUnder('src/web/templates'), ...filesUnder('src/web/static')];
    expect(needed.filter((path) => !paths.has(path))).toEqual([]);
  });

  it('ships no build leftovers, sources, source maps to missing sources, tests or large files', () => {
    const unwanted = packed.filter((file) => /\.map$|\.tsbuildinfo$|^src\/.*\.ts$|^(test|bench|contrib|docs|\.ci)\//.test(file.path) || file.size > 1024 * 1024);
    expect(unwanted.map((file) => file.path)).toEqual([]);
    // Nor a comment sending a debugger or `--enable-source-maps` to a map that is not shipped.
    const pointingAtMaps = packed.filter((file) => /^dist\/.*\.js$/.test(file.path) && readFileSync(join(stage, file.path), 'utf8').includes('sourceMappingURL'));
    expect(pointingAtMaps.map((file) => file.path)).toEqual([]);
  });

  it('packs a clean build: no compiled file without its source, the one planted in dist/ included', () => {
    expect(existsSync(join(stage, removedSourceOutput))).toBe(false);
    const withoutSource = packed.map((file) => file.path)
      .filter((path) => /^dist\/.*\.(js|d\.ts)$/.test(path))
      .filter((path) => !existsSync(join(stage, path.replace(/^dist\//, 'src/').replace(/(\.d)?\.ts$|\.js$/, '.ts'))));
    expect(withoutSource).toEqual([]);
  });

  it('installs with --engine-strict on this Node: no dependency asks for a newer one', () => {
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr).not.toContain('EBADENGINE');
  });

  it('pairgate --help and pairgate version run from the installed command', () => {
    const bin = join(consumer, 'node_modules/.bin/pairgate');
    const help = run(bin, ['--help'], consumer, 30_000);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pairgate /);
    const printed = run(bin, ['version'], consumer, 30_000);
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stdout).toBe(`pairgate ${version} (node ${process.versions.node}, ${process.platform}-${process.arch})\n`);
  });

  describe('pairgate serve, installed', () => {
    let child: ChildProcess;
    let url: string;

    beforeAll(async () => {
      child = spawn(join(consumer, 'node_modules/.bin/pairgate'), ['serve', '--port', '0', '--data-dir', join(work, 'data')], { cwd: consumer, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const match = /^pairgate listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(firstLine);
      if (!match) throw new Error(`serve printed ${JSON.stringify(firstLine)}`);
      url = match[1]!;
    }, 60_000);

    afterAll(async () => {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    });

    it('answers health, the API docs with their assets, pages and every static file', async () => {
      const get = async (path: string) => {
        const response = await fetch(`${url}${path}`, { redirect: 'manual' });
        return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.text() };
      };
      expect(await get('/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}' });
      expect(await get('/docs')).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/html/) });
      expect(await get('/docs/static/swagger-ui.css')).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/css/) });
      for (const page of ['/', '/device', '/account/signin']) {
        const answer = await get(page);
        expect(answer, page).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/html/) });
        expect(answer.body, page).toContain('/static/pairgate.css');
      }
      for (const name of readdirSync(join(repo, 'src/web/static'))) {
        expect((await get(`/static/${name}`)).status, name).toBe(200);
      }
    });

    it('pairgate/sdk imported from an ES module creates a grant on it', () => {
      const script = `import { PairgateClient } from 'pairgate/sdk';
        const grant = await new PairgateClient({ baseUrl: ${JSON.stringify(url)} }).createGrant({ label: 'installed' });
        console.log(JSON.stringify({ state: grant.state, code: typeof grant.code }));`;
      const result = run('node', ['--input-type=module', '-e', script], consumer, 30_000);
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ state: 'pending', code: 'string' });
    });
  });

  it('exports pairgate/sdk with its types, the subpaths the consumers below import', () => {
    expect(typedSubpaths()).toContain('pairgate/sdk');
  });

  // Node10 (TypeScript's old `node`, still the setting of many projects) reads no `exports`: each
  // typed subpath reaches it through `typesVersions`. Without `esModuleInterop`, as such projects
  // often are: the SDK's declarations import `ws` by name, which `export =` types allow there (a
  // default import of it was TS1259).
  it.each([
    ['Node16', 'Node16', {}],
    ['Bundler', 'ESNext', {}],
    ['Node10', 'CommonJS', {}],
  ])('every typed subpath type-checks in a strict TypeScript consumer (moduleResolution %s, libraries checked)', (resolution, module, interop) => {
    // A TypeScript consumer has Node's types of its own; the checkout's stand in when the install
    // brought none, so only what pairgate's declarations need is tested.
    const nodeTypes = join(consumer, 'node_modules/@types/node');
    if (!existsSync(nodeTypes)) {
      mkdirSync(join(consumer, 'node_modules/@types'), { recursive: true });
      symlinkSync(join(repo, 'node_modules/@types/node'), nodeTypes, 'dir');
    }
    const everySubpath = typedSubpaths().map((subpath, index) => `import * as subpath${index} from '${subpath}';
      console.log(subpath${index});\n`).join('');
    writeFileSync(join(consumer, 'use.ts'), `import { PairgateClient, PairgateApiError, type GrantView } from 'pairgate/sdk';
      const client: PairgateClient = new PairgateClient({ baseUrl: 'http://127.0.0.1:8080' });
      const seen: GrantView | undefined = undefined;
      console.log(typeof client, PairgateApiError.name, seen);
      ${everySubpath}`);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', module, moduleResolution: resolution, ...interop },
      files: ['use.ts'],
    }));
    const result = run('node', [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], consumer, 120_000);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  }, 120_000);
});
