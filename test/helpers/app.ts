import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import type { Door } from '../../src/doors/door.js';
import { allDoors } from '../../src/doors/index.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig, type Config } from '../../src/server/config.js';
import { openStores } from '../../src/server/open-stores.js';
import { freePort } from './ports.js';

/** A test server: the real app on real SQLite in a temporary folder. */
export interface TestApp {
  app: FastifyInstance;
  config: Config;
  /** Log lines the server wrote (to check that secrets stay out). */
  logs: string[];
  /** Base URL after `listen()`. */
  url: string;
  /** Listens on loopback, on `port` (a free one when 0), and returns the base URL. */
  listen(port?: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds the app with `env` on top of the defaults, a fresh data folder and every door (or `doors`).
 * Use `app.inject` for speed, or `listen()` for real sockets.
 */
export async function createTestApp(env: Record<string, string> = {}, options: { doors?: readonly Door[]; clock?: Clock } = {}): Promise<TestApp> {
  const doors = options.doors ?? allDoors;
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-test-'));
  const config = loadConfig(doors.flatMap((door) => (door.configSchema ? [door.configSchema] : [])), {
    env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_LOG_LEVEL: 'info', PAIRGATE_PORT: '0', ...env },
  });
  const stores = await openStores(config, doors);
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  let url = '';
  const app = await buildApp({ config, stores, doors, logStream, listenUrl: () => url || undefined, ...(options.clock ? { clock: options.clock } : {}) });
  const testApp: TestApp = {
    app,
    config,
    logs,
    get url() {
      return url;
    },
    async listen(port = 0) {
      await app.listen({ host: '127.0.0.1', port });
      const address = app.server.address();
      url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      return url;
    },
    async close() {
      await app.close();
      await stores.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testApp;
}

/**
 * The settings of a test app: fixed, or a function of the base URL it will listen on, for settings
 * that name the server's own address (PAIRGATE_PUBLIC_URL), which must be known before it starts.
 */
export type TestAppEnv = Record<string, string> | ((url: string) => Record<string, string>);

/** Builds the app with `env` and listens: on a port reserved beforehand when `env` needs the URL. */
export async function listeningTestApp(env: TestAppEnv, options: Parameters<typeof createTestApp>[1] = {}): Promise<TestApp> {
  if (typeof env !== 'function') {
    const t = await createTestApp(env, options);
    await t.listen();
    return t;
  }
  const port = await freePort();
  const t = await createTestApp(env(`http://127.0.0.1:${port}`), options);
  await t.listen(port);
  return t;
}

/**
 * A test app listening on real sockets for the tests of the enclosing describe: built and listening
 * before them, closed after them. Read `t` and `base` inside the tests.
 */
export function useListeningApp(env: TestAppEnv = {}, options: Parameters<typeof createTestApp>[1] = {}): { readonly t: TestApp; readonly base: string } {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await listeningTestApp(env, options);
  });
  afterAll(() => t?.close());
  return {
    get t() {
      return t!;
    },
    get base() {
      return t!.url;
    },
  };
}
