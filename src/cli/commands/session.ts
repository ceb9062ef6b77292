import type { Command } from 'commander';
import { InvalidRequestError } from '../../core/errors.js';
import { MAX_TEXT } from '../../doors/support/channel-limits.js';
import { PairgateApiError } from '../../sdk/errors.js';
import { helpParagraph } from '../help-text.js';
import { httpUrlOption, readOptionFile } from '../options.js';
import { timeOption, TTL_INVALID_CODE } from '../unit-options.js';
import type { CreatedSession, SessionChannel, SessionInfo, SupportOriginClient } from '../../sdk/support.js';
import { LineInput } from '../line-input.js';
import { chatLine, terminalSafe } from '../terminal-text.js';
import { eventWhenWords, whenWords } from '../time-words.js';

interface ServerOptions {
  server: string;
  user?: string;
  password?: string;
  passwordFile?: string;
}

/**
 * The supporter password: `--password`, else the first line of `--password-file` (which keeps it
 * out of shell history and `ps`, as PLEXUS_AUTH_PASS does), else PLEXUS_AUTH_PASS.
 */
function supporterPassword(options: ServerOptions): string {
  if (options.password !== undefined && options.passwordFile !== undefined) throw new InvalidRequestError('Give --password or --password-file, not both.');
  if (options.passwordFile !== undefined) {
    const password = readOptionFile(options.passwordFile, '--password-file').split(/\r?\n/)[0] ?? '';
    if (!password) throw new InvalidRequestError(`--password-file: ${options.passwordFile} holds no password on its first line.`);
    return password;
  }
  return options.password ?? process.env.PLEXUS_AUTH_PASS ?? '';
}

/** The supporter's client; the support SDK (and its WebSocket library) loads only for session commands. */
async function client(options: ServerOptions): Promise<SupportOriginClient> {
  const user = options.user ?? process.env.PLEXUS_AUTH_USER ?? '';
  const password = supporterPassword(options);
  // The one missing is named: "--user and --password-file" to someone who gave --user read as if it were not taken.
  if (!user && !password) throw new InvalidRequestError('Give the supporter credentials: --user and --password-file (or --password, or PLEXUS_AUTH_USER and PLEXUS_AUTH_PASS).');
  if (!user) throw new InvalidRequestError('Give the supporter user name too: --user (or PLEXUS_AUTH_USER).');
  if (!password) throw new InvalidRequestError(`Give the password of supporter "${terminalSafe(user)}" too: --password-file (or --password, or PLEXUS_AUTH_PASS).`);
  const baseUrl = httpUrlOption(options.server, '--server (or PAIRGATE_SERVER)', 'https://support.example.com');
  const { SupportOriginClient } = await import('../../sdk/support.js');
  return new SupportOriginClient({ baseUrl, user, password });
}

/** What `session create` says when the supporter's name or picture is missing, in flags. */
function supporterRequired(half: boolean): InvalidRequestError {
  const what = '--supporter-name <your name> and --supporter-avatar <https URL of your picture>, which the person sees before confirming';
  return new InvalidRequestError(half ? `--supporter-name and --supporter-avatar go together: give ${what}.` : `this server hands out pairing codes: give ${what}.`, undefined, 'supporter_required');
}

/**
 * A server without the support origin has no /session route and answers the engine's 404
 * (`route_not_found`), which says nothing of why: the origin is off until its credentials are set.
 */
function explainNoSupportOrigin(error: unknown, server: string): unknown {
  const body = error instanceof PairgateApiError ? (error.body as { error?: unknown } | undefined) : undefined;
  if (body?.error !== 'route_not_found') return error;
  return new InvalidRequestError(
    `${server} serves no support sessions: its support origin is off until PLEXUS_AUTH_USER and PLEXUS_AUTH_PASS are set there (docs/support.md). Check --server.`,
    undefined,
    'support_origin_off',
  );
}

/**
 * The server's 401 says "sign in with the supporter credentials (HTTP Basic)", which a person at the
 * command line did: say which flags (and server settings) to check, as bad input (exit 2).
 */
function explainRefusedCredentials(error: unknown): unknown {
  if (!(error instanceof PairgateApiError) || error.status !== 401) return error;
  return new InvalidRequestError(
    'the server refused these supporter credentials: check --user and --password (the server\'s PLEXUS_AUTH_USER and PLEXUS_AUTH_PASS, or the session\'s own login).',
    undefined,
    'unauthorized',
  );
}

/** `action` with a missing support origin (explainNoSupportOrigin) and refused credentials explained. */
function supportAction<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return (...args) =>
    action(...args).catch((error: unknown) => {
      const options = args.find((arg): arg is ServerOptions => typeof arg === 'object' && arg !== null && 'server' in arg);
      throw explainRefusedCredentials(options ? explainNoSupportOrigin(error, options.server) : error);
    });
}

/** What a session id may hold, in words (the server's SESSION_ID_PATTERN). */
const SESSION_ID_RULE = 'letters, digits, ".", "_" and "-", up to 64, and starts with a letter or digit';

/**
 * Refuses a malformed session id before any request: the server would refuse it too, but its
 * message names its route parameter and pattern (`params.id must match pattern ...`), not what to do.
 */
async function checkSessionId(id: string, flag?: string): Promise<void> {
  // The server's own pattern; its module (and TypeBox) loads only for the session commands.
  const { SESSION_ID_PATTERN } = await import('../../doors/support/schemas.js');
  if (new RegExp(SESSION_ID_PATTERN).test(id)) return;
  if (flag) throw new InvalidRequestError(`${flag} may hold ${SESSION_ID_RULE}.`, undefined, 'session_id_invalid');
  throw new InvalidRequestError(
    `${terminalSafe(JSON.stringify(id))} is not a session id: an id holds ${SESSION_ID_RULE}. See the ids of the live sessions with: pairgate session list`,
    undefined,
    'session_id_invalid',
  );
}

/** The exit codes of the session commands that make one request, in their --help. */
const SESSION_EXIT_CODES = `Exit code: 0 when done; 2 for bad input or a request the server refused (an
unknown or ended session, missing or wrong credentials: unauthorized, no
support origin there: support_origin_off); 1 when the server cannot be reached.`;

/** Why a command that asks the relay for a code (create, code) ends with 1 besides. */
const RELAY_EXIT = 'or its relay did not give a code (relay_refused, relay_unreachable: try again)';

/** The exit codes of `session code`, which asks the server's relay for a new code. */
const SESSION_CODE_EXIT_CODES = helpParagraph(SESSION_EXIT_CODES.replace(/\.$/, ` ${RELAY_EXIT}.`));

/** What a session's state means for its supporter, in words. */
const STATE_WORDS: Record<string, string> = {
  waiting: 'waiting for the person to enter the code and confirm',
  confirmed: 'confirmed; waiting for the agent to connect',
  connected: 'the person is connected',
  declined: 'declined by the person (nobody was given access)',
  expired: 'expired',
};


/** The lines `session show` prints: state, expiry, and whether the pairing code still works (and until when). */
function describeSession(info: SessionInfo, now = Date.now()): string[] {
  const lines = [`${info.ID}: ${STATE_WORDS[info.State] ?? info.State}`];
  lines.push(info.State === 'expired' ? `  expired at ${whenWords(info.ExpiresAt, now)}` : `  session expires at ${whenWords(info.ExpiresAt, now)}`);
  if (info.Pairing && info.State === 'waiting') {
    lines.push(info.PairingCodeExpiresAt
      ? `  pairing code: live, works until ${whenWords(info.PairingCodeExpiresAt, now)}; after that, get a new one: pairgate session code ${info.ID}`
      : `  pairing code: no longer works (expired, declined or tried wrongly too often); get a new one: pairgate session code ${info.ID}`);
  } else if (info.Pairing && info.State !== 'expired') lines.push('  pairing code: used (the person confirmed)');
  if (info.ConfirmedAt) lines.push(`  confirmed at ${whenWords(info.ConfirmedAt, now)}`);
  if (info.ConnectedAt) lines.push(`  connected at ${whenWords(info.ConnectedAt, now)}`);
  return lines;
}

/** The code spaced out in a box, so it reads well on the phone. */
export function bigCode(code: string): string {
  const spaced = [...code].join('  ');
  const line = '─'.repeat(spaced.length + 6);
  return `  ┌${line}┐\n  │   ${spaced}   │\n  └${line}┘`;
}

/** Prints a session's code and what to do with it; `renewed` for a new code of an existing session. */
function printCreated(session: CreatedSession, renewed = false): void {
  console.log(renewed
    ? `New pairing code for session ${session.ID} (its previous code no longer works); the session expires at ${whenWords(session.ExpiresAt)}.`
    : `Session ${session.ID} created; it expires at ${whenWords(session.ExpiresAt)}.`);
  if (session.PairingCode) {
    const relay = (session.PairingURL ?? '').replace(/\/pairing\/[^/]+$/, '');
    console.log('\nPairing code (read it to the person on the phone):\n');
    console.log(bigCode(session.PairingCode));
    console.log(`\nThey type it at ${relay}/ or run: pairgate join ${session.PairingCode} --relay ${relay}`);
    console.log(`Pairing URL: ${session.PairingURL}`);
  } else {
    console.log(`No pairing relay is configured: give the agent its configuration, ${session.AgentMSH}`);
  }
  console.log(`\nWait for the agent and chat: pairgate session attach ${session.ID}`);
}

/**
 * What Ctrl-C says: it detaches in every state, since attach did not make the session (`session
 * create` did) and attaching again is the way back, the person's page telling them their supporter
 * may return. While it waits for the person, the code still lets whoever types it in: said, with
 * how to end it, so a supporter who meant to give up does not leave it open unknowingly.
 */
function detachedWords(session: ChatSession, state: string): string {
  const back = `attach again with: pairgate session attach ${session.id}; end it with: pairgate session delete ${session.id}`;
  if (state === 'waiting' && session.pairing) return `Detached; the session goes on, and its pairing code still works until it expires: ${back}.`;
  return `Detached; the session goes on: ${back}.`;
}

/** How long `/end` waits for the server to say the session ended before giving up. */
const END_WAIT_MS = 10_000;

/** What `chat` needs to know of the session besides its channel. */
interface ChatSession {
  id: string;
  /** Whether the session has a pairing code (else the agent joins with AgentMSH). */
  pairing: boolean;
}

/**
 * Chats on the supporter's end of a session until it ends, the person declines, the input ends or
 * Ctrl-C (which detaches). `showReport` turns the agent's diagnostics report into what is printed.
 * What the agent sends is printed terminal-safe: it comes from the other side of the session.
 */
async function chat(channel: SessionChannel, session: ChatSession, showReport: (report: unknown) => string): Promise<number> {
  const input = new LineInput();
  return new Promise<number>((resolve) => {
    let done = false;
    // After /end the session is ending: the input ending too (a pipe, Ctrl-D) must not say
    // "detached, the session goes on" before the server says it ended.
    let ending = false;
    // Whether the agent is connected now: a message said without it reaches it only as history.
    let agentConnected = false;
    // Whether it was ever seen connected since this attach: connecting again is a return.
    let seenConnected = false;
    // The session's last state, for what Ctrl-C says.
    let state = '';
    const finish = (code: number, message: string): void => {
      if (done) return;
      done = true;
      console.log(message);
      input.close();
      channel.close();
      resolve(code);
    };
    // Before onEvent, which prints at once the events that came with the upgrade ("Waiting for the
    // person...", "Agent connected..."): Ctrl-C pressed as such a line appears detaches, where
    // Node's default would end the process without a word of what became of the session.
    process.once('SIGINT', () => finish(0, detachedWords(session, state)));
    channel.onEvent((event) => {
      if (event.type === 'state') {
        state = String(event.state);
        const wasConnected = agentConnected;
        agentConnected = event.state === 'connected';
        if (event.state === 'connected') {
          // Said once per change, here: the `peer_joined` a return also brings says the same.
          if (!wasConnected) console.log(seenConnected ? 'The person is back.' : 'Agent connected. Type a message and press Enter; /end ends the session.');
          seenConnected = true;
        } else if (event.state === 'waiting') {
          console.log(session.pairing
            ? `Waiting for the person to enter the code and confirm... (if the code expires before they type it, get a new one: pairgate session code ${session.id})`
            : 'Waiting for the agent to connect with the session\'s AgentMSH...');
        } else if (event.state === 'confirmed') {
          // After the agent left, `peer_left` (which follows) says so in words.
          if (!wasConnected) console.log('Confirmed; waiting for the agent to connect...');
        }
        // Final: the session never leaves it, so there is nothing more to wait for.
        else if (event.state === 'declined') finish(1, 'The person declined: nobody was given access. If they want help after all, create a new session (pairgate session create).');
        else console.log(`Session state: ${String(event.state)}`);
      } else if (event.type === 'history' && Array.isArray(event.messages) && event.messages.length > 0) {
        // What was said before this attach: the person may have written while nobody was attached.
        console.log('The chat so far:');
        for (const said of event.messages) console.log(chatLine(`${said.from === 'agent' ? 'agent' : 'you'}> `, String(said.text)));
      } else if (event.type === 'peer_left' && event.peer === 'agent') {
        const until = eventWhenWords(event.expiresAt, 'its end');
        console.log(`The person left the session (closed their page or lost their connection). They may come back until it expires at ${until}; what you write reaches them then.`);
      } else if (event.type === 'message') console.log(chatLine('agent> ', String(event.text)));
      else if (event.type === 'diagnostics') console.log(`Diagnostics from the agent:\n${showReport(event.report)}`);
      else if (event.type === 'error') console.error(`pairgate: ${terminalSafe(String(event.message))}`);
    });
    // Said as the person's page says it, from this side: the supporter is "you" here.
    const endedBy: Record<string, string> = { supporter: 'You ended the session.', deleted: 'The session was deleted.', agent: 'The person ended the session.', expired: 'The session has expired.' };
    const ended = (reason: string): void => finish(0, endedBy[reason] ?? `Session ended (${reason}).`);
    channel.on('ended', ended);
    channel.on('close', ({ lost }: { lost: boolean }) => {
      if (lost) finish(1, 'Connection to the server lost.');
    });
    // An end read with the upgrade (in its packet, or in the read of the first state) was emitted
    // before the listener above: onEvent replays the events, not the channel's `ended`, and attach
    // waited forever for a session already gone.
    if (channel.ended !== undefined) ended(channel.ended);
    input.stream((line) => {
      const text = line.trim();
      if (!text) return;
      if (text === '/end') {
        ending = true;
        channel.end();
        setTimeout(() => finish(1, `The server did not say that the session ended; see: pairgate session show ${session.id}`), END_WAIT_MS).unref();
      } else if (text.length > MAX_TEXT) {
        // The server would answer "Messages are JSON: message (text up to ...)", which is about
        // the protocol, not what was typed.
        console.error(`pairgate: that message has ${text.length} characters, more than the ${MAX_TEXT} one message may hold; it was not sent. Split it into shorter ones.`);
      } else {
        channel.say(text);
        if (!agentConnected) console.error('pairgate: the person is not connected now: their session page or pairgate join shows this message once it connects.');
      }
    }, () => {
      if (!ending) finish(0, 'Input ended; detached, the session goes on.');
    });
  });
}

/**
 * `pairgate session`: the supporter's side of the support door. `create` prints the pairing code
 * big and clear; `attach` waits for the agent and chats.
 */
export function registerSessionCommand(program: Command): void {
  const session = program.command('session').description('remote support: create a session, read out its code, chat with the person')
    .addHelpText('after', `
${SESSION_CODE_EXIT_CODES}
\`session attach\` also ends with 1 when the person declines or the connection
to the server is lost.`);
  const withServer = (command: Command): Command =>
    command
      .option('-s, --server <url>', 'the support origin: the pairgate server with PLEXUS_AUTH_USER set (PAIRGATE_SERVER)', process.env.PAIRGATE_SERVER || 'http://127.0.0.1:8080') // empty counts as unset
      .option('-u, --user <name>', 'supporter user, required (PLEXUS_AUTH_USER)')
      .option('-p, --password <password>', 'supporter password, required (PLEXUS_AUTH_PASS); on the command line it shows in shell history and to `ps`: prefer the variable or --password-file')
      .option('--password-file <file>', 'read the supporter password from the first line of this file instead');

  withServer(session.command('create'))
    .description('create a session and print its pairing code')
    .option('--id <id>', 'session id: letters, digits, ".", "_", "-", up to 64, starting with a letter or digit (default: random)')
    .option('--ttl <time>', 'session lifetime, 10s or more, e.g. 2h; a plain number is seconds (default: the server\'s PAIRGATE_SUPPORT_DEFAULT_TTL, 3600; at most its PAIRGATE_SUPPORT_MAX_TTL, 86400)')
    .option('--supporter-name <name>', 'your name, shown to the person before they confirm (required when the server hands out pairing codes)')
    .option('--supporter-avatar <url>', 'https URL of your picture (required likewise; the two go together)')
    .option('--session-user <name>', 'a login for this session alone (it may show, attach to and delete it)')
    .option('--session-password <password>', 'the password of --session-user')
    .option('--json', 'print the server\'s JSON answer')
    .addHelpText('after', `
Example:
  $ pairgate session create --supporter-name Thorsten --supporter-avatar https://example.com/me.png \\
      --server https://support.example.com --user support --password-file ~/.pairgate-support-password

${helpParagraph(`Exit code: 0 when created; 2 for bad input (a malformed option, a missing
supporter name or picture: supporter_required, half a session login:
credentials_incomplete, a --ttl the server refuses: ttl_invalid) or a request
the server refused (wrong credentials: unauthorized, no support origin there:
support_origin_off); 1 when the server cannot be reached ${RELAY_EXIT}.`)}`)
    .action(supportAction(async (options: ServerOptions & { id?: string; ttl?: string; supporterName?: string; supporterAvatar?: string; sessionUser?: string; sessionPassword?: string; json?: boolean }) => {
      // Checked here so the message names the flags (the server names its form fields and pattern);
      // the most is the server's own (PAIRGATE_SUPPORT_MAX_TTL), which it says in its refusal.
      const ttl = timeOption(options.ttl, '--ttl', 's', 10, Number.MAX_SAFE_INTEGER, TTL_INVALID_CODE);
      if (options.id !== undefined) await checkSessionId(options.id, '--id');
      if (Boolean(options.sessionUser) !== Boolean(options.sessionPassword)) {
        throw new InvalidRequestError('--session-user and --session-password go together (a login for this session alone), and neither may be empty.', undefined, 'credentials_incomplete');
      }
      // Basic auth splits user and password at the first colon (RFC 7617): such a login could never sign in.
      if (options.sessionUser?.includes(':')) {
        throw new InvalidRequestError('--session-user may not contain ":": Basic auth splits the user from the password at the first colon, so that login could never sign in.', undefined, 'credentials_incomplete');
      }
      // Whether the server hands out pairing codes (and so needs both) is known only by asking it;
      // one without the other is wrong either way, so it is refused here, before any request.
      if (Boolean(options.supporterName?.trim()) !== Boolean(options.supporterAvatar?.trim())) throw supporterRequired(true);
      const created = await (await client(options)).createSession({
        ...(options.id ? { id: options.id } : {}),
        ...(ttl !== undefined ? { ttl } : {}),
        ...(options.supporterName ? { supporterName: options.supporterName } : {}),
        ...(options.supporterAvatar ? { supporterAvatar: options.supporterAvatar } : {}),
        ...(options.sessionUser && options.sessionPassword ? { username: options.sessionUser, password: options.sessionPassword } : {}),
      }).catch((error: unknown) => {
        // The server names its form fields; say which flags to pass instead.
        if (error instanceof PairgateApiError && error.code === 'supporter_required') throw supporterRequired(false);
        if (error instanceof PairgateApiError && error.code === 'supporter_avatar_invalid') throw new InvalidRequestError('--supporter-avatar must be an absolute https URL (pages load pictures over https only).', undefined, error.code);
        if (error instanceof PairgateApiError && error.code === TTL_INVALID_CODE) throw new InvalidRequestError(error.message.replace(/^ttl\b/, '--ttl'), undefined, error.code);
        throw error;
      });
      // One line, as every command's --json: a script reads a line per answer.
      if (options.json) console.log(JSON.stringify(created));
      else printCreated(created);
    }));

  withServer(session.command('code <id>'))
    .description('a new pairing code for a session still waiting (its code expired)')
    .option('--json', 'print the server\'s JSON answer, one line')
    .addHelpText('after', `\n${SESSION_CODE_EXIT_CODES}`)
    .action(supportAction(async (id: string, options: ServerOptions & { json?: boolean }) => {
      await checkSessionId(id);
      const renewed = await (await client(options)).newCode(id);
      if (options.json) console.log(JSON.stringify(renewed));
      else printCreated(renewed, true);
    }));

  withServer(session.command('show <id>'))
    .description('show the state of a session, when it expires, and whether its pairing code still works')
    .option('--json', 'print the server\'s JSON answer (times in UTC, ISO 8601)')
    .addHelpText('after', `\nTimes are in this terminal's time zone, with how far off they are.\n\n${SESSION_EXIT_CODES}`)
    .action(supportAction(async (id: string, options: ServerOptions & { json?: boolean }) => {
      await checkSessionId(id);
      const info = await (await client(options)).getSession(id);
      if (options.json) console.log(JSON.stringify(info));
      else console.log(describeSession(info).join('\n'));
    }));

  withServer(session.command('list'))
    .description('list live sessions: id, state, when it expires')
    .option('--json', 'print the server\'s JSON answer (times in UTC, ISO 8601)')
    .addHelpText('after', `\nTimes are in this terminal's time zone, with how far off they are.\n\n${SESSION_EXIT_CODES}`)
    .action(supportAction(async (options: ServerOptions & { json?: boolean }) => {
      const sessions = await (await client(options)).listSessions();
      if (options.json) return console.log(JSON.stringify({ Sessions: sessions }));
      if (sessions.length === 0) console.log('No live sessions.');
      const now = Date.now();
      for (const info of sessions) console.log(`${info.ID}\t${info.State}\texpires ${whenWords(info.ExpiresAt, now)}`);
    }));

  withServer(session.command('delete <id>'))
    .description('end and remove a session')
    .option('--json', 'print {"id", "ended": true} as one line of JSON')
    .addHelpText('after', `\n${SESSION_EXIT_CODES}`)
    .action(supportAction(async (id: string, options: ServerOptions & { json?: boolean }) => {
      await checkSessionId(id);
      await (await client(options)).deleteSession(id);
      console.log(options.json ? JSON.stringify({ id, ended: true }) : `Session ${id} ended.`);
    }));

  withServer(session.command('attach <id>'))
    .description('wait for the agent and chat (/end ends the session, Ctrl-C detaches; it ends when the session ends, exit 0, or the person declines, exit 1)')
    .option('--json', 'print the agent\'s diagnostics report as JSON, with every check\'s details, instead of as text')
    .addHelpText('after', `
Exit code: 0 when the session ends or you detach (Ctrl-C, end of input); 1 when
the person declines, the connection to the server is lost, the server does not
say the session ended after /end, or it cannot be reached; 2 for an unknown
session, missing or refused credentials (unauthorized), or a server without
the support origin (support_origin_off).`)
    .action(supportAction(async (id: string, options: ServerOptions & { json?: boolean }) => {
      await checkSessionId(id);
      // The text format is the doctor's, whose module loads TLS identities: only for this command.
      const { agentReportJson, formatAgentReport } = await import('../agent-report.js');
      const supporter = await client(options);
      // Whether it has a pairing code decides what "waiting" means for it.
      const { Pairing } = await supporter.getSession(id);
      const channel = await supporter.attach(id, { history: true });
      process.exitCode = await chat(channel, { id, pairing: Pairing }, options.json ? agentReportJson : formatAgentReport);
    }));
}
