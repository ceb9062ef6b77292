import type { Command } from 'commander';
import { PairgateClient } from '../../sdk/client.js';

const DEFAULT_SERVER = process.env.PAIRGATE_SERVER ?? 'http://127.0.0.1:8080';

function client(options: { server: string }): PairgateClient {
  return new PairgateClient({ baseUrl: options.server });
}

/**
 * `pairgate grant`: the generic grant API from the shell. `create` prints the code and waits for a
 * person to decide; `show`, `approve` and `refuse` are what that person runs.
 */
export function registerGrantCommand(program: Command): void {
  const grant = program.command('grant').description('ask a person to approve something by a short code (generic grant API)');
  const serverOption = ['-s, --server <url>', 'pairgate server (PAIRGATE_SERVER)', DEFAULT_SERVER] as const;

  grant
    .command('create')
    .description('create a grant, print its code, wait for the decision and redeem it')
    .requiredOption('-l, --label <text>', 'what the approver is shown')
    .option('--ttl <seconds>', 'lifetime in seconds')
    .option('--no-wait', 'print the code and exit without waiting')
    .option('--json', 'print JSON instead of text')
    .option(...serverOption)
    .action(async (options: { label: string; ttl?: string; wait: boolean; json?: boolean; server: string }) => {
      const api = client(options);
      const created = await api.createGrant({ label: options.label, ...(options.ttl ? { ttl: Number(options.ttl) } : {}) });
      if (options.json) console.log(JSON.stringify(options.wait ? { id: created.id, code: created.code, expiresAt: created.expiresAt } : created));
      else {
        console.log(`Code: ${created.code.toUpperCase()}`);
        console.log(`Expires at ${created.expiresAt}. Ask the approver to run: pairgate grant approve ${created.code}`);
      }
      if (!options.wait) return;
      if (!options.json) process.stderr.write('Waiting for the decision... (Ctrl-C to stop)\n');
      const view = await api.waitForDecision(created.id);
      if (view.state === 'approved') {
        const redeemed = await api.redeem(created.id, created.secret);
        console.log(options.json ? JSON.stringify(redeemed) : `Approved${redeemed.note ? `: ${redeemed.note}` : ''}.`);
        return;
      }
      console.log(options.json ? JSON.stringify({ state: view.state }) : `Not approved: the request is ${view.state}.`);
      process.exitCode = 1;
    });

  grant
    .command('show <code>')
    .description('show what a code asks')
    .option(...serverOption)
    .action(async (code: string, options: { server: string }) => {
      const view = await client(options).lookupCode(code);
      console.log(`${view.label}\n${Object.entries(view.data).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`.trimEnd());
      console.log(`State: ${view.state}, expires at ${view.expiresAt}`);
    });

  for (const decision of ['approve', 'refuse'] as const) {
    grant
      .command(`${decision} <code>`)
      .description(`${decision} the request a code names`)
      .option('-n, --note <text>', 'a note passed to the requester')
      .option(...serverOption)
      .action(async (code: string, options: { note?: string; server: string }) => {
        const api = client(options);
        const view = decision === 'approve' ? await api.approveCode(code, options.note) : await api.refuseCode(code, options.note);
        console.log(`${decision === 'approve' ? 'Approved' : 'Refused'}: ${view.label}`);
      });
  }
}
