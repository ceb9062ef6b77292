import type { Command } from 'commander';
import { discoveryOf, intOption, stderrLog, withDiscovery, type CommonLanOptions } from './lan-cli-support.js';
import { httpUrlOption } from '../options.js';
import { timeOption } from '../unit-options.js';

/**
 * `pairgate doctor`: network diagnostics for local pairing. Every check runs, in series, even after
 * one fails; each is logged on stderr as it runs; the report goes to stdout (text or --json); the
 * exit code is 1 when a check failed.
 */
export function registerDoctorCommand(program: Command): void {
  withDiscovery(program.command('doctor'))
    .description('check interfaces, own addresses, listener, self-reach, multicast, DNS and the pairgate server')
    .option('-s, --server <url>', 'also check DNS and reachability of this pairgate server (PAIRGATE_SERVER)')
    .option('--port <port>', 'port for the test listener (default: random)')
    .option('--multicast-wait <time>', 'how long to listen for multicast, 100ms to 1m; a plain number is milliseconds', '1.5s')
    .option('--quiet', 'do not log checks on stderr as they run')
    .option('--json', 'print the report as one JSON document instead of text')
    .addHelpText('after', `
Exit code: 0 when every check passed or warned, 1 when a check failed, 2 for bad
input.

Example:
  $ pairgate doctor --server https://pair.example.com --quiet`)
    .action(async (options: CommonLanOptions & { server?: string; port?: string; multicastWait: string; quiet?: boolean }) => {
      // Loaded here: its checks pull in TLS identities that every other command would load for nothing.
      const { formatDoctorReport, runDoctor } = await import('../../doors/lan/doctor.js');
      const server = options.server ?? process.env.PAIRGATE_SERVER;
      if (server) httpUrlOption(server, options.server ? '--server' : 'PAIRGATE_SERVER', 'https://pair.example.com');
      const report = await runDoctor({
        ...(server ? { server } : {}),
        port: intOption(options.port, '--port', 0, 65535),
        discovery: discoveryOf(options),
        multicastWaitMs: timeOption(options.multicastWait, '--multicast-wait', 'ms', 100, 60_000),
        log: options.quiet ? undefined : stderrLog,
      });
      console.log(options.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
      if (!report.ok) process.exitCode = 1;
    });
}
