import type { Command } from 'commander';
import { PairgateClient, type CreatedGrant } from '../../sdk/client.js';
import { httpUrlOption, intOption, textOption } from '../options.js';

const DEFAULT_SERVER = process.env.PAIRGATE_SERVER ?? 'http://127.0.0.1:8080';

function client(options: { server: string }): PairgateClient {
  return new PairgateClient({ baseUrl: httpUrlOption(options.server, '--server (or PAIRGATE_SERVER)', 'http://127.0.0.1:8080') });
}

/**
 * What to tell the person when the server keeps the grant for less than `--ttl` asked: the API
 * shortens a lifetime beyond its maximum without an error (as OAuth servers do), which only the
 * answer's createdAt and expiresAt show, and a grant that expires early is otherwise a surprise.
 */
export function ttlCapNote(askedSeconds: number | undefined, created: Pick<CreatedGrant, 'createdAt' | 'expiresAt'>): string | undefined {
  if (askedSeconds === undefined) return undefined;
  const keptSeconds = Math.round((Date.parse(created.expiresAt) - Date.parse(created.createdAt)) / 1000);
  if (!(keptSeconds < askedSeconds)) return undefined;
  return `Asked for ${askedSeconds} s; this server keeps grants at most ${keptSeconds} s, so this one expires at ${created.expiresAt}.`;
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
    .requiredOption('-l, --label <text>', 'what the approver is shown (1-200 characters)')
    .option('--ttl <seconds>', 'lifetime in seconds, 10 or more (default: the server\'s PAIRGATE_GRANT_TTL_SECONDS, 600; also the most it grants)')
    .option('--no-wait', 'print the code and exit without waiting (with --json, the answer holds the id and secret to redeem it)')
    .option('--json', 'print JSON instead of text')
    .option(...serverOption)
    .addHelpText('after', `
Examples:
  $ pairgate grant create --label "Let the printer in"
  $ pairgate grant create --label "Deploy v2" --ttl 300 --server https://pair.example.com

Exit code: 0 when approved, 1 when refused or expired, 2 for bad input.`)
    .action(async (options: { label: string; ttl?: string; wait: boolean; json?: boolean; server: string }) => {
      const ttl = intOption(options.ttl, '--ttl', 10, 86_400);
      const label = textOption(options.label, '--label', 1, 200);
      const api = client(options);
      const created = await api.createGrant({ label, ...(ttl !== undefined ? { ttl } : {}) });
      const capped = ttlCapNote(ttl, created);
      if (options.json) {
        console.log(JSON.stringify(options.wait ? { id: created.id, code: created.code, expiresAt: created.expiresAt } : created));
        // Standard output stays one JSON document; the person running it still reads the note.
        if (capped) process.stderr.write(`${capped}\n`);
      } else {
        // The approver's command names this server unless it is the one they reach by default.
        const server = options.server === DEFAULT_SERVER ? '' : ` --server ${options.server}`;
        const approve = `Ask the approver to run: pairgate grant approve ${created.code}${server}`;
        console.log(`Code: ${created.code.toUpperCase()}`);
        console.log(capped ? `${capped}\n${approve}` : `Expires at ${created.expiresAt}. ${approve}`);
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
    .addHelpText('after', '\nExample:\n  $ pairgate grant show 4GJD-A6F4-T')
    .action(async (code: string, options: { server: string }) => {
      const view = await client(options).lookupCode(code);
      console.log(`${view.label}\n${Object.entries(view.data).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`.trimEnd());
      console.log(`State: ${view.state}, expires at ${view.expiresAt}`);
    });

  for (const decision of ['approve', 'refuse'] as const) {
    grant
      .command(`${decision} <code>`)
      .description(`${decision} the request a code names`)
      .option('-n, --note <text>', 'a note passed to the requester (up to 500 characters)')
      .option(...serverOption)
      .addHelpText('after', `\nExample:\n  $ pairgate grant ${decision} 4GJD-A6F4-T --note "${decision === 'approve' ? 'go ahead' : 'not today'}"`)
      .action(async (code: string, options: { note?: string; server: string }) => {
        const note = options.note === undefined ? undefined : textOption(options.note, '--note', 0, 500);
        const api = client(options);
        const view = decision === 'approve' ? await api.approveCode(code, note) : await api.refuseCode(code, note);
        console.log(`${decision === 'approve' ? 'Approved' : 'Refused'}: ${view.label}`);
      });
  }
}
