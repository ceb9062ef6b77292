import type { Command } from 'commander';
import { packageVersion } from '../../server/version.js';

/** `pairgate version`: the version, the Node.js version and the platform. */
export function registerVersionCommand(program: Command): void {
  program
    .command('version')
    .description('print the pairgate version, the Node.js version and the platform')
    .option('--json', 'print as JSON: {"pairgate", "node", "platform"}')
    .addHelpText('after', '\nExample:\n  $ pairgate version --json\n  {"pairgate":"0.1.0","node":"20.19.0","platform":"linux-x64"}\n\nExit code: 0 when printed, 2 for an unknown option.')
    .action((options: { json?: boolean }) => {
      const info = { pairgate: packageVersion(), node: process.versions.node, platform: `${process.platform}-${process.arch}` };
      console.log(options.json ? JSON.stringify(info) : `pairgate ${info.pairgate} (node ${info.node}, ${info.platform})`);
    });
}
