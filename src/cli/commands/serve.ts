import type { Command } from 'commander';
import { warnOfFileKeys } from '../config-file.js';
import { intOption } from '../options.js';
import { startErrorSaid } from '../start-error-words.js';
import type { ConfigSection } from '../../server/config-schema.js';
import { TOOLING_ENV_KEYS, unknownKeyWarnings } from '../../server/config-warnings.js';

/** The server and every door, loaded only when `serve` runs: other commands start faster without them. */
async function loadServer() {
  const [{ allDoors }, { describeConfig }, { readConfigFile }, { coreConfigSchema }, { startServer }, { dnsRuntimeOf }] = await Promise.all([
    import('../../doors/index.js'),
    import('../../server/config.js'),
    import('../../server/config-file.js'),
    import('../../server/config-schema.js'),
    import('../../server/start.js'),
    import('../../doors/dns/dns-door.js'),
  ]);
  return { allDoors, describeConfig, readConfigFile, coreConfigSchema, startServer, dnsRuntimeOf };
}

interface ServeOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  config?: string;
  publicUrl?: string;
  helpConfig?: boolean;
  relayOnly?: boolean;
}

/**
 * Warns on stderr, before the start (a typo such as PAIRGATE_PROT leaves the default port, which
 * may be taken), of each PAIRGATE_ variable of the environment that neither a configuration section
 * nor pairgate's own tooling reads. PLEXUS_ ones are left alone: that prefix is shared with the
 * Plexus programs whose wire formats pairgate serves, which may run from the same environment.
 */
function warnOfUnknownEnvKeys(env: NodeJS.ProcessEnv, sections: readonly ConfigSection[]): void {
  const known = [...sections.flatMap((section) => Object.keys(section.properties)), ...TOOLING_ENV_KEYS];
  for (const warning of unknownKeyWarnings(Object.keys(env), known, ['PAIRGATE_'])) {
    console.error(`pairgate: warning: environment: ${warning}`);
  }
  for (const warning of inlineCommentWarnings(env, known)) console.error(`pairgate: warning: environment: ${warning}`);
}

/**
 * A warning for each known key whose value in the environment holds a comment after it (`value
 * # ...`): systemd's EnvironmentFile, and docker's --env-file, keep it as part of the value, where
 * pairgate's own --config reader drops it. Most keys then refuse the value, but a text key such as
 * PAIRGATE_REDIS_PREFIX took it whole, and the node shared no key with the others. Never the value.
 */
function inlineCommentWarnings(env: NodeJS.ProcessEnv, known: readonly string[]): string[] {
  return known
    .filter((key) => /\s#/.test(env[key] ?? ''))
    .map((key) => `${key}'s value holds " #": a comment kept in the value? (systemd's EnvironmentFile keeps one after a value; put comments on lines of their own.)`);
}

/** `pairgate serve`: runs the server until SIGINT or SIGTERM. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the pairgate server (embedded SQLite by default); prints the URL it listens on first, then the DNS listeners when a zone is set')
    .option('-p, --port <port>', 'TCP port, 0 for any free port (PAIRGATE_PORT, default: 8080)')
    .option('-H, --host <address>', 'address to listen on (PAIRGATE_HOST, default: 127.0.0.1)')
    .option('-d, --data-dir <dir>', 'folder for the database (PAIRGATE_DATA_DIR, default: ./.pairgate)')
    .option('-c, --config <file>', 'configuration file in dotenv syntax (KEY=value); the environment overrides it')
    .option('--public-url <url>', 'base URL clients reach this server at (PAIRGATE_PUBLIC_URL)')
    .option('--relay-only', 'serve only the support relay, at / (PAIRGATE_RELAY_ONLY)')
    .option('--help-config', 'list every configuration key with its default and exit')
    .addHelpText('after', `
Every setting is an environment variable or a line of the --config file; see
--help-config. The environment overrides the file; these flags override both.

Examples:
  $ pairgate serve --port 0 --data-dir /tmp/pg
  $ PAIRGATE_LOG_LEVEL=warn pairgate serve --config pairgate.env --public-url https://pair.example.com

Exit code: 0 after --help-config, or when stopped by SIGINT or SIGTERM once the
requests in flight finished; 2 for a setting it cannot use (config_invalid: a
bad value or --config file, a store URL or credentials the store refused), an
address it cannot listen on (address_in_use, listen_not_permitted,
address_not_available), or a data folder another server holds or whose
database it cannot use (data_dir_in_use, database_newer_than_server,
database_unreadable, restore_unfinished); 1 when a store cannot be reached at
start-up (store_unavailable) or the shutdown fails.`)
    .action(async (options: ServeOptions) => {
      const { allDoors, describeConfig, readConfigFile, coreConfigSchema, startServer, dnsRuntimeOf } = await loadServer();
      const sections = allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : []));
      if (options.helpConfig) {
        console.log(describeConfig(sections));
        return;
      }
      const overrides: Record<string, unknown> = {};
      // Checked here so that the message names the flag typed, not the key it overrides.
      if (options.port !== undefined) overrides.PAIRGATE_PORT = intOption(options.port, '--port', 0, 65535);
      if (options.host !== undefined) overrides.PAIRGATE_HOST = options.host;
      if (options.dataDir !== undefined) overrides.PAIRGATE_DATA_DIR = options.dataDir;
      if (options.publicUrl !== undefined) overrides.PAIRGATE_PUBLIC_URL = options.publicUrl;
      // Read once: the warnings, --relay-only and the values loaded all see the same text, even
      // if the file changes meanwhile.
      const file = options.config ? readConfigFile(options.config) : undefined;
      // Every door's keys, those of doors this start leaves out (--relay-only) too: they are known.
      if (file) warnOfFileKeys(file, [coreConfigSchema, ...sections]);
      warnOfUnknownEnvKeys(process.env, [coreConfigSchema, ...sections]);
      // Relay-only: the relay door alone (health, metrics and docs stay), mounted at /.
      // Read as loadConfig reads it: an empty variable leaves the file's value.
      const relayOnlySetting = [process.env.PAIRGATE_RELAY_ONLY, file?.values.PAIRGATE_RELAY_ONLY].find((value) => value !== undefined && value !== '');
      const relayOnly = options.relayOnly || /^(true|1|yes)$/i.test(relayOnlySetting ?? '');
      if (relayOnly) overrides.PAIRGATE_RELAY_ONLY = true;
      const server = await startServer(
        { ...(file ? { file } : {}), env: process.env, overrides },
        relayOnly ? allDoors.filter((door) => door.name === 'support-relay') : allDoors,
        // Logs go to standard error so that standard output starts with the URL line.
        process.stderr,
      ).catch((error: unknown) => {
        throw startErrorSaid(error, overrides);
      });
      // Stopped cleanly from the moment it says where it listens: a signal sent as the URL line
      // appears (a script's, a test's) finds the handlers in place, not Node's default death.
      const stop = (signal: string): void => {
        server.app.log.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(`pairgate: shutdown failed: ${String(error)}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      // The first line of standard output, always: scripts and tests read the URL from it.
      process.stdout.write(`pairgate listening on ${server.url}\n`);
      // Then the door's own listeners, with the ports picked for port 0.
      const dns = dnsRuntimeOf(server.app.pairgate);
      if (dns) {
        const host = dns.dns.host.includes(':') ? `[${dns.dns.host}]` : dns.dns.host;
        process.stdout.write(`dns listening on udp+tcp ${host}:${dns.dns.port}\n`);
        if (dns.updateApi) process.stdout.write(`dns update api listening on ${dns.updateApi.url}\n`);
      }
    });
}
