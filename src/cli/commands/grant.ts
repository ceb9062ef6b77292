import type { Command } from 'commander';
import { InvalidRequestError } from '../../core/errors.js';
import { PairgateClient, type CodeView, type CreatedGrant } from '../../sdk/client.js';
import { PairgateApiError } from '../../sdk/errors.js';
import { httpUrlOption, textOption } from '../options.js';
import { timeOption, TTL_INVALID_CODE } from '../unit-options.js';
import { isYes, LineInput } from '../line-input.js';
import { terminalSafe } from '../terminal-text.js';
import { whenWords } from '../time-words.js';
import { STOP_SIGNALS, stoppedBy, whileInterruptible, type InterruptPlan } from '../interrupt.js';

// Empty counts as unset (`PAIRGATE_SERVER=$UNSET_VAR`), as with `pairgate lan` and serve's own keys.
const BUILT_IN_SERVER = 'http://127.0.0.1:8080';
const DEFAULT_SERVER = process.env.PAIRGATE_SERVER || BUILT_IN_SERVER;

/**
 * Text someone else wrote (the requester's label and data, the approver's note) as one line safe
 * for a terminal: escapes that would drive it become U+FFFD (terminalSafe), and a line break shows
 * as ↵, so a label cannot print a line of its own ("State: ...", a fact the requester made up)
 * under what `grant show` prints.
 */
export function oneLine(text: string): string {
  return terminalSafe(text).replace(/\n/g, '↵').replace(/\t/g, ' ');
}

/** What a code asks, for the person about to decide: the label, the facts, the state. */
function describe(view: CodeView): string {
  const facts = Object.entries(view.data).map(([k, v]) => `\n  ${oneLine(k)}: ${oneLine(v)}`).join('');
  return `${oneLine(view.label)}${facts}\nState: ${view.state}, expires at ${whenWords(view.expiresAt)}`;
}

/** Collects a repeatable option's values. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `--data name=value` options as the API's facts: the name up to the first `=` (1-64 characters),
 * the value after it (up to 1000), at most 20, no name twice. Checked here, so a typo is said in
 * the option's words before any request.
 */
export function dataFacts(given: readonly string[] | undefined): Record<string, string> | undefined {
  if (!given || given.length === 0) return undefined;
  if (given.length > 20) throw new InvalidRequestError(`--data: at most 20 facts; ${given.length} were given.`);
  const facts: Record<string, string> = {};
  for (const item of given) {
    const equals = item.indexOf('=');
    const name = equals < 0 ? '' : item.slice(0, equals);
    if (!name.trim() || name.length > 64) throw new InvalidRequestError(`--data takes name=value, the name 1 to 64 characters: "${oneLine(item.slice(0, 80))}" is not that.`);
    if (Object.hasOwn(facts, name)) throw new InvalidRequestError(`--data: "${oneLine(name)}" is given twice.`);
    facts[name] = textOption(item.slice(equals + 1), `--data ${name}`, 0, 1000);
  }
  return facts;
}

/** The exit codes of the approver's commands, in their --help. */
const DECISION_EXIT_CODES = `
Exit code: 0 when done, 2 for a mistyped, unknown, expired or already decided
code (or other bad input), 1 when the server cannot be reached.`;

/** `grant approve`'s: those, and the answer no. */
const APPROVE_EXIT_CODES = `
On a terminal, it shows what the code asks and approves only after a yes.

Exit code: 0 when approved, 1 when the answer was no (nothing changed) or the
server cannot be reached, 2 for a mistyped, unknown, expired or already decided
code (or other bad input).`;

function client(options: { server: string }): PairgateClient {
  return new PairgateClient({ baseUrl: httpUrlOption(options.server, '--server (or PAIRGATE_SERVER)', 'http://127.0.0.1:8080') });
}

/**
 * The client of `grant create`, with the server's creation token when PAIRGATE_GRANTS_CREATE_TOKEN
 * is set: from the environment, never an option, so that it stays out of shell history and `ps`.
 */
function creatingClient(options: { server: string }): PairgateClient {
  return new PairgateClient({
    baseUrl: httpUrlOption(options.server, '--server (or PAIRGATE_SERVER)', 'http://127.0.0.1:8080'),
    createToken: process.env.PAIRGATE_GRANTS_CREATE_TOKEN || undefined,
  });
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
  return `Asked for ${askedSeconds} s; this server keeps grants at most ${keptSeconds} s, so this one expires at ${whenWords(created.expiresAt)}.`;
}

/**
 * The note the approver gave with a refusal (`grant refuse --note`). The API hands it to the
 * secret's holder only, in the answer to redeeming the refused grant.
 */
async function refusalNote(api: PairgateClient, created: CreatedGrant): Promise<string | null> {
  try {
    await api.redeem(created.id, created.secret);
  } catch (error) {
    const body = error instanceof PairgateApiError && error.code === 'grant_refused' ? error.body as { note?: unknown } : undefined;
    return typeof body?.note === 'string' && body.note ? body.note : null;
  }
  return null;
}

/** The line for a grant that ended without approval. */
export function notApproved(state: string, note: string | null, expiresAt: string): string {
  if (state === 'refused') return `Refused${note ? `: ${oneLine(note)}` : ''}.`;
  if (state === 'expired') return `Not approved: nobody decided before the code expired at ${whenWords(expiresAt)}. Create a new one to ask again.`;
  return `Not approved: the request is ${state}.`;
}

/** The note a request withdrawn by Ctrl-C or SIGTERM is refused with (the API hands it to the secret's holder only). */
export const WITHDRAWN_NOTE = 'withdrawn by the requester (it stopped waiting)';

/**
 * What Ctrl-C (or SIGTERM) during `grant create`'s wait does: the secret lives in this process
 * alone, so once it ends nobody can redeem the grant, yet the code stayed live until it expired,
 * and an approver typing it was told "Approved" of a request nobody would act on. The requester
 * holds the code, so it refuses its own request (the API has no other way to withdraw one): the
 * code stops working and an approver is told the request was decided. SIGTERM is handled alike: a
 * script or a service manager stopping the command leaves nobody waiting either.
 */
function withdrawal(api: PairgateClient, created: CreatedGrant): InterruptPlan {
  const code = created.code.toUpperCase();
  return {
    cleanUp: async (signal, stop) => {
      await api.refuseCode(created.code, WITHDRAWN_NOTE, { signal });
      return `stopped (${stoppedBy(stop)}): the request was withdrawn; its code ${code} no longer works.`;
    },
    fallback: (error, stop) => {
      const why = error instanceof PairgateApiError ? error.code : error instanceof Error ? error.message : String(error);
      return `stopped (${stoppedBy(stop)}); the request could not be withdrawn (${why}): its code ${code} works until ${whenWords(created.expiresAt)}, but an approval now reaches nobody.`;
    },
  };
}

/**
 * `pairgate grant`: the generic grant API from the shell. `create` prints the code and waits for a
 * person to decide; `show`, `approve` and `refuse` are what that person runs.
 */
export function registerGrantCommand(program: Command): void {
  const grant = program
    .command('grant')
    .description('ask a person to approve something by a short code (generic grant API)')
    .addHelpText('after', `
The requester runs \`grant create\`, which prints a code and waits; the person
reads what it asks with \`grant show\` and decides with \`grant approve\` or
\`grant refuse\`.

Examples:
  $ pairgate grant create --label "Let the printer in"
  $ pairgate grant show 4GJD-A6F4-T
  $ pairgate grant approve 4GJD-A6F4-T --note "go ahead"

Exit code: 0 on success, 2 for bad input (a mistyped, unknown, expired or
already decided code, a malformed option) or a request the server refused, 1
when the server cannot be reached, a created grant is refused or expires, or
an approval is answered no. Each subcommand's --help says its own.`);
  const serverOption = ['-s, --server <url>', 'pairgate server (PAIRGATE_SERVER)', DEFAULT_SERVER] as const;

  grant
    .command('create')
    .description('create a grant, print its code, wait for the decision and redeem it')
    .requiredOption('-l, --label <text>', 'what the approver is shown (1-200 characters, not only spaces)')
    .option('--ttl <time>', 'lifetime, 10s to 24h, e.g. 30m; a plain number is seconds (default: the server\'s PAIRGATE_GRANT_TTL_SECONDS, 600, also the most it keeps: a longer one is shortened)')
    .option('--data <name=value>', 'a fact shown to the approver under the label (repeatable, up to 20)', collect)
    .option('--no-wait', 'print the code and exit without waiting (with --json, the answer holds the id and secret to redeem it)')
    .option('--json', 'print JSON: a line with id, code and expiresAt, then one with the outcome (with --no-wait, one line: the whole creation answer)')
    .option(...serverOption)
    .addHelpText('after', `
Examples:
  $ pairgate grant create --label "Let the printer in"
  $ pairgate grant create --label "Deploy v2" --ttl 300 --server https://pair.example.com
  $ pairgate grant create --label "Let the printer in" --data room=Attic --data model="HP 4100"

A server that sets PAIRGATE_GRANTS_CREATE_TOKEN asks for that secret: set the
same variable here and it is sent (an environment variable, not an option, so
that it stays out of shell history).

Ctrl-C while it waits withdraws the request (it refuses its own code, which
then no longer works) and ends the command with exit status 130; SIGTERM does
the same, with exit status 143.

Exit code: 0 when approved (with --no-wait: when created), 1 when refused or
expired or when the server cannot be reached, 2 for bad input or a request the
server refused, 130 when stopped with Ctrl-C, 143 with SIGTERM.`)
    .action(async (options: { label: string; ttl?: string; data?: string[]; wait: boolean; json?: boolean; server: string }) => {
      // ttl_invalid, as `session create` refuses its --ttl and the support server a ttl: one code for
      // the one mistake (the grant API's schema says only validation_failed of it).
      const ttl = timeOption(options.ttl, '--ttl', 's', 10, 86_400, TTL_INVALID_CODE);
      const label = textOption(options.label, '--label', 1, 200);
      const data = dataFacts(options.data);
      const api = creatingClient(options);
      const created = await api.createGrant({ label, ...(ttl !== undefined ? { ttl } : {}), ...(data ? { data } : {}) });
      const capped = ttlCapNote(ttl, created);
      // Ctrl-C is handled before the code is out, not only before "Waiting...": a person who reads
      // the code and changes their mind, pressing Ctrl-C as it appears, withdraws the request. With
      // Node's default the process died and the code stayed approvable until it expired. SIGTERM
      // likewise: a script or systemd stopping the wait leaves no request live with nobody waiting.
      const interrupt = options.wait ? whileInterruptible(withdrawal(api, created), STOP_SIGNALS) : undefined;
      if (options.json) {
        console.log(JSON.stringify(options.wait ? { id: created.id, code: created.code, expiresAt: created.expiresAt } : created));
        // Standard output stays one JSON document; the person running it still reads the note.
        if (capped) process.stderr.write(`${capped}\n`);
      } else {
        // The approver's command names this server unless it is the built-in default: one taken
        // from PAIRGATE_SERVER here is named too, as the approver's machine may not have it set.
        const server = options.server === BUILT_IN_SERVER ? '' : ` --server ${options.server}`;
        // The code as shown above it, in capitals (the server reads it in any case).
        const approve = `Ask the approver to run: pairgate grant approve ${created.code.toUpperCase()}${server}`;
        console.log(`Code: ${created.code.toUpperCase()}`);
        console.log(capped ? `${capped}\n${approve}` : `Expires at ${whenWords(created.expiresAt)}. ${approve}`);
      }
      if (!interrupt) return;
      if (!options.json) process.stderr.write('Waiting for the decision... (Ctrl-C to stop)\n');
      // A server restarting meanwhile is waited for; the person is told, on standard error.
      const view = await api.waitForDecision(created.id, {
        signal: interrupt.signal,
        onRetry: (error, pauseMs) => {
          const why = error.status ? `${error.status} ${error.code}` : /\(([^)]+)\)/.exec(error.message)?.[1] ?? error.code;
          process.stderr.write(`Lost the server while waiting (${why}); asking again in ${Math.ceil(pauseMs / 1000)} s... (Ctrl-C to stop)\n`);
        },
      }).catch((error: unknown) => {
        // Aborted by Ctrl-C or SIGTERM: the process ends by the signal once the request is withdrawn.
        if (interrupt.signal.aborted) return new Promise<never>(() => undefined);
        throw error;
      });
      interrupt.done();
      if (view.state === 'approved') {
        const redeemed = await api.redeem(created.id, created.secret);
        console.log(options.json ? JSON.stringify(redeemed) : `Approved${redeemed.note ? `: ${oneLine(redeemed.note)}` : ''}.`);
        return;
      }
      const note = view.state === 'refused' ? await refusalNote(api, created) : null;
      console.log(options.json ? JSON.stringify({ id: created.id, state: view.state, note }) : notApproved(view.state, note, created.expiresAt));
      process.exitCode = 1;
    });

  grant
    .command('show <code>')
    .description('show what a code asks')
    .option('--json', 'print the server\'s answer as one line of JSON (label, data, state, expiresAt)')
    .option(...serverOption)
    .addHelpText('after', `\nExample:\n  $ pairgate grant show 4GJD-A6F4-T\n${DECISION_EXIT_CODES}`)
    .action(async (code: string, options: { server: string; json?: boolean }) => {
      const view = await client(options).lookupCode(code);
      console.log(options.json ? JSON.stringify(view) : describe(view));
    });

  for (const decision of ['approve', 'refuse'] as const) {
    const command = grant
      .command(`${decision} <code>`)
      .description(decision === 'approve' ? 'show the request a code names and approve it (asked first on a terminal)' : 'refuse the request a code names')
      .option('-n, --note <text>', 'a note passed to the requester (up to 500 characters)')
      .option('--json', 'print the server\'s answer as one line of JSON (the request as decided)')
      .option(...serverOption);
    // A refusal harms no one, so only an approval is asked to be confirmed.
    if (decision === 'approve') command.option('-y, --yes', 'approve without showing the request and asking first');
    command
      .addHelpText('after', `\nExample:\n  $ pairgate grant ${decision} 4GJD-A6F4-T --note "${decision === 'approve' ? 'go ahead' : 'not today'}"\n${decision === 'approve' ? APPROVE_EXIT_CODES : DECISION_EXIT_CODES}`)
      .action(async (code: string, options: { note?: string; server: string; yes?: boolean; json?: boolean }) => {
        const note = options.note === undefined ? undefined : textOption(options.note, '--note', 0, 500);
        const api = client(options);
        // A person at a terminal sees what they approve before it is done: the code alone says
        // nothing, and whoever read it out may not be who they claim. Scripts (no terminal) and
        // --yes approve at once.
        if (decision === 'approve' && !options.yes && process.stdin.isTTY) {
          console.log(describe(await api.lookupCode(code)));
          const input = new LineInput();
          const yes = isYes(await input.ask('Approve this request? [y/N] '));
          input.close();
          if (!yes) {
            console.log('Not approved: nothing was changed (the code still works until it expires).');
            process.exitCode = 1;
            return;
          }
        }
        const view = decision === 'approve' ? await api.approveCode(code, note) : await api.refuseCode(code, note);
        console.log(options.json ? JSON.stringify(view) : `${decision === 'approve' ? 'Approved' : 'Refused'}: ${oneLine(view.label)}`);
      });
  }
}
