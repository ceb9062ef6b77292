import { afterAll, beforeAll } from 'vitest';
import { createTestApp, listeningTestApp, type TestApp, type TestAppEnv } from './app.js';
import { createTestDatabase, postgresMissing } from './services.js';

/** The server of a `describe` on one durable store (see `SqlAppSetup.useApp`); read it inside the tests. */
export interface SqlStoreApp {
  /** The running test app (after `beforeAll`): listening, and `t.app.inject` for speed. */
  readonly t: TestApp;
  /** Its base URL. */
  readonly base: string;
  /** The PostgreSQL database's URL ('' on SQLite), for a test's own connections. */
  readonly databaseUrl: string;
}

/** One durable store to run a server on: its name, why it is skipped here (if it is), and how to start it. */
export interface SqlAppSetup {
  name: 'SQLite' | 'PostgreSQL';
  skip?: string;
  /**
   * Starts, in the `describe` it is called in, a test app with `env` (and `options`) on this store,
   * listening before the describe's tests and closed after them: SQLite in the app's temporary data
   * folder, or PostgreSQL in a database made for it and dropped after. Nothing starts when `skip`
   * says why not (mark the tests `it.skipIf(skip)`).
   */
  useApp(env?: TestAppEnv, options?: Parameters<typeof createTestApp>[1]): SqlStoreApp;
}

/**
 * The embedded SQLite store and PostgreSQL (skipped with its reason where it does not answer,
 * failing under CI=true, as `sqlStoreSetups` does), each a whole server on a fresh database: for a
 * `describe.each` of tests that run the real app over both durable stores.
 */
export async function sqlAppSetups(): Promise<SqlAppSetup[]> {
  const pgSkip = await postgresMissing();
  return [
    { name: 'SQLite', useApp: (env, options) => useStoreApp('SQLite', undefined, env, options) },
    { name: 'PostgreSQL', ...(pgSkip ? { skip: pgSkip } : {}), useApp: (env, options) => useStoreApp('PostgreSQL', pgSkip, env, options) },
  ];
}

/** The app of `useApp` on `store`, or none when `skip` says why. */
function useStoreApp(store: SqlAppSetup['name'], skip: string | undefined, env: TestAppEnv = {}, options: Parameters<typeof createTestApp>[1] = {}): SqlStoreApp {
  let t: TestApp | undefined;
  let databaseUrl = '';
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    if (skip) return;
    let storeEnv: Record<string, string> = {};
    if (store === 'PostgreSQL') {
      const database = await createTestDatabase();
      drop = () => database.drop();
      databaseUrl = database.url;
      storeEnv = { PAIRGATE_DATABASE_URL: database.url };
    }
    t = await listeningTestApp(typeof env === 'function' ? (url) => ({ ...env(url), ...storeEnv }) : { ...env, ...storeEnv }, options);
  });
  afterAll(async () => {
    await t?.close();
    await drop?.();
  });
  return {
    get t() {
      return t!;
    },
    get base() {
      return t!.url;
    },
    get databaseUrl() {
      return databaseUrl;
    },
  };
}
