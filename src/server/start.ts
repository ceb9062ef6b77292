import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ConfigError } from '../core/errors.js';
import type { Door } from '../doors/door.js';
import { buildApp } from './app.js';
import { checkBackupConfig } from './backups.js';
import { assertBearerSecret } from './bearer-secret.js';
import { configWarnings } from './config-warnings.js';
import { codeKeyWarning } from './code-hash-key.js';
import { makeDataDir, makeFolder } from './data-dir.js';
import { removeLeftoverTempFiles } from './durable-file.js';
import { loadConfig, type Config, type ConfigSources } from './config.js';
import { capConnections, httpConnectionCap, openFileCount, openFileLimit, waitsOverCapWarning } from './connection-cap.js';
import { explainListenError, HTTP_LISTENER } from './listen-errors.js';
import { probeListen } from './listen-probe.js';
import { loggerOptions } from './logger.js';
import { openStores } from './open-stores.js';
import { trustedProxies } from './trust-proxy.js';
import { migrationLogLine } from '../store/migrate.js';

/** A running server. */
export interface RunningServer {
  app: FastifyInstance;
  config: Config;
  /** The URL it listens on, with the real port. */
  url: string;
  /** Stops accepting, lets requests in flight finish (up to the grace period), closes the stores. */
  close(): Promise<void>;
}

/** Validates the server's and every door's configuration; the first problem stops start-up. */
export function checkConfig(config: Config, doors: readonly Door[]): void {
  checkBackupConfig(config);
  trustedProxies(config.PAIRGATE_TRUST_PROXY);
  // The schema's pattern lets through what no URL parser reads (a port above 65535, an unclosed
  // IPv6 bracket); every link the server writes would then be one no browser opens.
  if (config.PAIRGATE_PUBLIC_URL && !URL.canParse(config.PAIRGATE_PUBLIC_URL)) {
    throw new ConfigError('PAIRGATE_PUBLIC_URL', `${JSON.stringify(config.PAIRGATE_PUBLIC_URL)} is not a URL a browser can open (a port above 65535? a bracket not closed?); expected an http(s) URL such as https://pair.example.com`);
  }
  assertBearerSecret('PAIRGATE_METRICS_TOKEN', config.PAIRGATE_METRICS_TOKEN, 'to leave /metrics open (bind to a private address then)');
  for (const door of doors) {
    if (door.enabled && !door.enabled(config)) continue;
    door.checkConfig?.(config);
  }
}

/**
 * The descriptors the process may open as it runs besides the HTTP listener's connections: the
 * enabled doors' listeners at their caps, and a PostgreSQL pool at its size (it opens connections
 * as the load asks, not at start).
 */
export function descriptorsOfOthers(config: Config, doors: readonly Door[]): number {
  const pool = config.PAIRGATE_DATABASE_URL ? config.PAIRGATE_DATABASE_POOL_SIZE : 0;
  return doors.reduce((sum, door) => sum + (door.enabled && !door.enabled(config) ? 0 : door.descriptorsAtMost?.(config) ?? 0), pool);
}

/**
 * Caps the listener's connections under the open-file limit, counted once everything started has
 * its descriptors (stores, the doors' listeners), where the system tells both (connection-cap.ts).
 */
function limitConnections(app: FastifyInstance, config: Config, doors: readonly Door[]): void {
  const limit = openFileLimit();
  const openNow = openFileCount();
  if (limit === undefined || openNow === undefined) return;
  const { cap, warning: squeezed } = httpConnectionCap(limit, openNow, descriptorsOfOthers(config, doors));
  if (squeezed) app.log.warn(squeezed);
  capConnections(app.server, cap, limit, app.log);
  const refused = app.pairgate.metrics.countRefused('http', ['limit']);
  app.server.on('drop', () => refused('limit'));
  const warning = waitsOverCapWarning(config.PAIRGATE_WAITS_MAX, cap, limit);
  if (warning) app.log.warn(warning);
}

/**
 * The temporary files (`durable-file.ts`) that a process stopped between writing and renaming left
 * in the data folder and in the DNS door's folder of its update API's key: each may hold a whole
 * copy of a key, kept for ever otherwise. Their paths, relative to the data folder.
 */
function removeLeftoverFiles(dataDir: string): string[] {
  return ['.', 'dns-update-tls'].flatMap((folder) => removeLeftoverTempFiles(join(dataDir, folder)).map((name) => join(folder, name)));
}

/** Loads configuration, opens the stores, builds the app and listens. */
export async function startServer(sources: ConfigSources, doors: readonly Door[], logStream?: NodeJS.WritableStream): Promise<RunningServer> {
  const config = loadConfig(doors.flatMap((door) => (door.configSchema ? [door.configSchema] : [])), sources);
  checkConfig(config, doors);
  // Before anything is made on disk: an address it cannot listen on is a setting to change.
  await probeListen(config.PAIRGATE_HOST, config.PAIRGATE_PORT, HTTP_LISTENER);
  makeDataDir(config.PAIRGATE_DATA_DIR);
  if (config.PAIRGATE_BACKUP_DIR) makeFolder(config.PAIRGATE_BACKUP_DIR, 'PAIRGATE_BACKUP_DIR');
  // Logged by a logger of its own, the app's not made yet: as soon as the migrations are done, so a
  // start that upgraded the database and then failed (Redis away, the port taken) still says so.
  // Whatever the address listened on: it is about who reads the database, not who reaches the server.
  const stores = await openStores(config, doors, (report) => {
    const line = migrationLogLine(report);
    if (line) pino(loggerOptions(config.PAIRGATE_LOG_LEVEL), logStream ?? process.stdout).info(line);
  });
  // Once the store holds the folder (SQLite's lock): a second server started on it by mistake
  // stops there, before it touches anything of the first one's.
  const leftovers = removeLeftoverFiles(config.PAIRGATE_DATA_DIR);
  // Known only once listening (port 0); the app reads it for its default public URL.
  const listening: { url?: string } = {};
  let app: FastifyInstance | undefined;
  try {
    app = await buildApp({ config, stores, doors, ...(logStream ? { logStream } : {}), listenUrl: () => listening.url });
    await app.listen({ host: config.PAIRGATE_HOST, port: config.PAIRGATE_PORT, listenTextResolver: (address) => `listening on ${address}` }).catch((error: unknown) => {
      // Told in words with the setting to change (a port taken, one that needs privileges, a host
      // not of this machine), for every caller: `serve`, a supervisor in-process, the tests.
      throw explainListenError(error, { ...HTTP_LISTENER, host: config.PAIRGATE_HOST, port: config.PAIRGATE_PORT });
    });
  } catch (error) {
    // What the doors started (the DNS listeners, sweepers, timers) stops with the app, then the
    // stores close: a caller that handles the failure (a test, a supervisor in-process) is left
    // with nothing running.
    await app?.close().catch(() => undefined);
    await stores.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PAIRGATE_PORT;
  const host = config.PAIRGATE_HOST.includes(':') ? `[${config.PAIRGATE_HOST}]` : config.PAIRGATE_HOST;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  listening.url = url;
  for (const warning of configWarnings(config, doors)) app.log.warn(warning);
  if (leftovers.length > 0) app.log.info(`removed ${leftovers.length} temporary file(s) a stop between writing and renaming left in the data folder: ${leftovers.join(', ')}`);
  const codeKeyHint = codeKeyWarning(config);
  if (codeKeyHint) app.log.warn(codeKeyHint);
  limitConnections(app, config, doors);
  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    url,
    close() {
      closing ??= (async () => {
        const grace = config.PAIRGATE_SHUTDOWN_GRACE_SECONDS * 1000;
        const timer = setTimeout(() => app.server.closeAllConnections(), grace);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          await stores.close();
        }
      })();
      return closing;
    },
  };
}
