import type { Command } from 'commander';
import { relayCodeFormat } from '../../doors/support/relay-code.js';
import { INVISIBLE_CLASS } from '../../doors/shared/shown-text.js';
import { PairgateApiError, PORT_BLOCKED_CODE } from '../../sdk/errors.js';
import type { ChannelEvent, Confirmation, confirmPairing as ConfirmPairing, connectAgent as ConnectAgent, SessionChannel } from '../../sdk/support.js';
import { isYes, LineInput } from '../line-input.js';
import { chatLine, terminalLine, terminalSafe } from '../terminal-text.js';
import { eventWhenWords } from '../time-words.js';
import { networkReport } from '../network-report.js';
import { httpUrlOption } from '../options.js';
import { STOP_SIGNALS, stoppedBy, whileInterruptible, type InterruptibleWait, type InterruptPlan, type StopSignal } from '../interrupt.js';

// Empty counts as unset (`PAIRGATE_RELAY_URL=` in a compose file), as with `pairgate grant` and `pairgate lan`.
const DEFAULT_RELAY = process.env.PAIRGATE_RELAY_URL || 'http://127.0.0.1:8080/relay';

/** The longest name (supporter, company) printed before the question, in characters; longer ones are cut with `…`. */
export const MAX_SHOWN_NAME = 60;

const INVISIBLE = new RegExp(`[${INVISIBLE_CLASS}]`, 'gu');
const STACKED_MARKS = /(\p{M}{3})\p{M}+/gu;

/**
 * A name from the server a code led to (anyone's, on an open relay), as printed before the
 * question: terminal-safe and on one line (`terminalLine`), without invisible characters, with
 * every run of spaces as one and no more than three accents on a letter, and at most
 * MAX_SHOWN_NAME characters. As sent, a name padded to the terminal's width wrapped into lines of
 * the server's making above the real `Server:` line (`Server:    support.example.com`), and a
 * long one pushed the real lines out of sight.
 */
export function shownName(text: string): string {
  const flat = terminalLine(text).replace(INVISIBLE, '').replace(STACKED_MARKS, '$1').replace(/\s+/gu, ' ').trim();
  const chars = [...flat];
  return chars.length > MAX_SHOWN_NAME ? `${chars.slice(0, MAX_SHOWN_NAME - 1).join('').trimEnd()}…` : flat;
}

/**
 * Says what went wrong with a code, for a person, in plain words chosen by the server's machine
 * code, that code at the end in brackets as every CLI error has it (`pairgate: <sentence> [<code>]`):
 * the person reads the words, and whoever helps them (or a script) the code.
 */
function explain(error: unknown): string {
  return withCode(explainWords(error), error);
}

/** `words` with the machine code of `error` after it in brackets; as they are when it has none. */
function withCode(words: string, error: unknown): string {
  return error instanceof PairgateApiError ? `${words} [${error.code}]` : words;
}

/** The words of {@link explain}, without the code. */
function explainWords(error: unknown): string {
  if (!(error instanceof PairgateApiError)) return error instanceof Error ? error.message : String(error);
  switch (error.code) {
    case 'code_not_found':
      return 'No session has this code, or it has expired. Check the code, or ask your supporter for a new one.';
    // The server's 404 for a code decided on already says how, so the person is not told to check a code they typed right.
    case 'code_used':
      return 'This code was confirmed already, and a code works only once. If you still need help, ask your supporter for a new code.';
    case 'code_declined':
      return 'This code was declined, so nobody was given access, and it works no more. If you do want help, ask your supporter for a new code.';
    case 'code_burned':
    case 'grant_approved':
    case 'grant_refused':
      return 'This code can no longer be confirmed (it was used already, or too many wrong attempts). Ask your supporter for a new code.';
    // Anything else in its own words: the server's say what was too many and how long to wait
    // (rate_limited), the SDK's what could not be reached (network_error) or what answered
    // instead of a relay (relay_bad_answer).
    default:
      return error.message;
  }
}

/** A plan with nothing to undo: only its line, which names the stop signal received. */
function wordsOnly(words: (stop: StopSignal) => string): InterruptPlan {
  return {
    cleanUp: (_signal, stop) => Promise.resolve(words(stop)),
    fallback: (_error, stop) => words(stop),
  };
}

/**
 * Ctrl-C (or SIGTERM) before the person answered: nothing to undo on the server (declining would
 * spend the code for good, and only an explicit no may), so the code keeps working and they may
 * join again.
 */
const NOTHING_DECIDED = wordsOnly((stop) => `stopped (${stoppedBy(stop)}): nothing was confirmed or declined, so the code still works until it expires (a few minutes after your supporter gave it): run pairgate join again to answer.`);

/**
 * Ctrl-C (or SIGTERM) while the person's no is on its way: nobody was given access either way, but
 * a no that had not reached the server spent nothing, and the supporter was not told.
 */
const DECLINE_UNANSWERED = wordsOnly((stop) => `stopped (${stoppedBy(stop)}) before the server answered your no: nobody was given access, but if the no had not reached it, the code still works until it expires (a few minutes after your supporter gave it) and your supporter was not told.`);

/** What became of the person's no: the line that says so and the exit code (0: declined). */
interface DeclineOutcome {
  line: string;
  exitCode: number;
}

const DECLINED: DeclineOutcome = { line: 'Declined. Nobody was given access.', exitCode: 0 };

/**
 * Sends the person's no. The server takes it with 403 `declined` (`code_declined` when the code
 * was declined already, on the page). Anything else is said as it is, never as a decline: a no the
 * server did not take left the code working, the supporter waiting to hear.
 */
async function decline(confirm: typeof ConfirmPairing, pairingUrl: string, signal: AbortSignal): Promise<DeclineOutcome> {
  try {
    await confirm(pairingUrl, 'decline', undefined, { signal });
    // Not pairgate's answer to a decline (a 403), but the server took it all the same.
    return DECLINED;
  } catch (error) {
    return declineRefusal(error);
  }
}

/**
 * The outcome of a no the server answered with an error (see {@link decline}): a sentence, the
 * server's machine code at its end, as {@link explain} says a refused code.
 */
function declineRefusal(error: unknown): DeclineOutcome {
  const code = error instanceof PairgateApiError ? error.code : undefined;
  if (code === 'declined' || code === 'code_declined') return DECLINED;
  // Confirmed meanwhile, on the page or by another join: that session goes on, and the person should know.
  if (code === 'code_used') return { line: withCode('Your no came too late: the code had been confirmed already (in a browser, or by another pairgate join), and that session goes on. If that was not you, tell your supporter now: they can end it.', error), exitCode: 2 };
  if (code === 'code_not_found' || code === 'code_burned') return { line: withCode('There was nothing left to decline: the code works no more (it expired, your supporter replaced it, or it had too many wrong tries), so nobody was given access with it.', error), exitCode: 2 };
  return { line: withCode(`The server may not have taken your no: ${explainWords(error)} Nobody was given access, but if the no did not reach the server, the code still works until it expires (a few minutes after your supporter gave it) and your supporter was not told: run pairgate join again to decline, or tell them.`, error), exitCode: exitCodeOf(error) };
}

/** How far a join went after the person's "yes": what Ctrl-C has to undo (see `UNSTARTED_SESSION`). */
interface Joining {
  /** Who is asking, as the question named them. */
  who: string;
  /** Set once the server answered the confirmation: the session is confirmed, and these end it. */
  confirmed?: { channelUrl: string; credential: string | undefined; expiresAt: unknown };
}

/**
 * Ctrl-C (or SIGTERM) between "yes" and the chat: the confirmation or the connection is aborted,
 * and a session already confirmed is ended, as Ctrl-C in the chat ends it: left alone, it stayed
 * open with nobody connected until it expired, the supporter waiting for someone who had gone.
 * Before the server answered the confirmation there is no credential to end it with: the line
 * says both outcomes.
 */
function unstartedSession(joining: Joining, connect: typeof ConnectAgent): InterruptPlan {
  return {
    cleanUp: async (signal, stop) => {
      const confirmed = joining.confirmed;
      if (!confirmed) return unansweredConfirmationWords(joining.who, stop);
      const ended = await endSession(connect, confirmed.channelUrl, confirmed.credential, signal);
      return ended === 'ended'
        ? `stopped (${stoppedBy(stop)}) before the chat began: the session with ${joining.who} was ended.`
        : `stopped (${stoppedBy(stop)}) before the chat began: the session with ${joining.who} had ended already.`;
    },
    fallback: (error, stop) => {
      // The server's code or words, printed by the interrupt's handler: kept from driving the terminal.
      const why = terminalLine(error instanceof PairgateApiError ? error.code : error instanceof Error ? error.message : String(error));
      if (!joining.confirmed) return unansweredConfirmationWords(joining.who, stop);
      return `stopped (${stoppedBy(stop)}) before the chat began; the session with ${joining.who} could not be ended (${why}): it stays open, with nobody connected, until your supporter ends it or it expires ${eventWhenWords(joining.confirmed.expiresAt, 'on its own')}.`;
    },
  };
}

/** A stop before the confirmation's answer: nothing to end it with, and no telling whether it was confirmed. */
function unansweredConfirmationWords(who: string, stop: StopSignal): string {
  return `stopped (${stoppedBy(stop)}) before the server answered your confirmation: if it had confirmed it, the session with ${who} stays open, with nobody connected, until your supporter ends it or it expires; if not, the code still works until it expires.`;
}

/** Pause between two hellos while the aborted connection still holds the agent's place on the server. */
const AGENT_PLACE_RETRY_MS = 100;

/**
 * Ends a confirmed session by the agent's channel (the only way an agent ends one, as /quit does):
 * connects with the credential, sends `end` and waits for the server's `ended`. The connection
 * Ctrl-C aborted may hold the agent's place for a moment (`agent_already_connected`): asked again
 * until `signal` ends. `gone` when the server knows no live session there any more.
 */
async function endSession(connect: typeof ConnectAgent, url: string, credential: string | undefined, signal: AbortSignal): Promise<'ended' | 'gone'> {
  let channel: SessionChannel;
  for (;;) {
    try {
      channel = await connect(url, credential, 'pairgate-join', { signal });
      break;
    } catch (error) {
      if (!(error instanceof PairgateApiError) || signal.aborted) throw error;
      // The right credential refused: the session has ended or expired (the server's words).
      if (error.code === 'unauthorized') return 'gone';
      if (error.code !== 'agent_already_connected') throw error;
      await new Promise((resolve) => setTimeout(resolve, AGENT_PLACE_RETRY_MS));
    }
  }
  try {
    await new Promise<void>((resolve, reject) => {
      channel.once('ended', () => resolve());
      channel.once('close', () => reject(new Error('the connection closed before the session ended')));
      signal.addEventListener('abort', () => reject(new Error('no answer in time')), { once: true });
      channel.end();
    });
  } finally {
    channel.socket.terminate();
  }
  return 'ended';
}

/**
 * The session channel a confirmation named on another server, moved to the server the code led
 * to: the one that issued the credential, so the hello that ends the session tells it nothing new.
 * Only the path and query are kept: a path starting with `//` stays a path. `undefined` when the
 * name is no URL.
 */
function channelOnCodesServer(pairingUrl: string, meshServer: unknown): string | undefined {
  if (typeof meshServer !== 'string') return undefined;
  try {
    const named = new URL(meshServer);
    const server = new URL(pairingUrl);
    const channel = new URL(`${server.protocol === 'https:' ? 'wss:' : 'ws:'}//${server.host}`);
    channel.pathname = named.pathname;
    channel.search = named.search;
    return channel.href;
  } catch {
    return undefined;
  }
}

/** Longest wait for ending a session confirmed with a channel elsewhere: the SDK's for any call of the door. */
const ELSEWHERE_END_MS = 15_000;

/**
 * The person said yes, but the confirmation named a session channel on another server, which is
 * never connected to (`refusal`). Left alone, the confirmed session stayed open with nobody
 * connected until it expired, the supporter waiting: it is ended on the server the code led to
 * (see {@link channelOnCodesServer}), as Ctrl-C before the chat ends it. Answers the line that
 * says the refusal and what became of the session; `progress` lets Ctrl-C meanwhile end it too.
 */
async function endSessionElsewhere(refusal: PairgateApiError, pairingUrl: string, confirmation: Confirmation, progress: Joining, connect: typeof ConnectAgent, signal: AbortSignal): Promise<string> {
  const said = refusal.message;
  const staysOpen = `it stays open, with nobody connected, until your supporter ends it or it expires ${eventWhenWords(confirmation.ExpiresAt, 'on its own')}`;
  const channelUrl = channelOnCodesServer(pairingUrl, confirmation.MeshServer);
  if (!channelUrl) return `${said} The session you confirmed could not be ended (the server named no channel to end it on): ${staysOpen}. [${refusal.code}]`;
  progress.confirmed = { channelUrl, credential: confirmation.AgentCredential, expiresAt: confirmation.ExpiresAt };
  try {
    const ended = await endSession(connect, channelUrl, confirmation.AgentCredential, AbortSignal.any([signal, AbortSignal.timeout(ELSEWHERE_END_MS)]));
    return ended === 'ended'
      ? `${said} The session you confirmed was ended (on the server the code led to), so it does not stay open. [${refusal.code}]`
      : `${said} The session you confirmed had ended already. [${refusal.code}]`;
  } catch (error) {
    const why = error instanceof PairgateApiError ? error.code : error instanceof Error ? error.message : String(error);
    return `${said} The session you confirmed could not be ended (${why}): ${staysOpen}. [${refusal.code}]`;
  }
}

/** What the person is told when their supporter detaches from a session that goes on. */
function supporterLeftWords(expiresAt: unknown): string {
  return `Your supporter has left the session for now. They may come back until it expires at ${eventWhenWords(expiresAt, 'its end')}; stay here to wait for them (what you write reaches them when they are back), or /quit to end it.`;
}

/**
 * Asks a yes/no question until it is answered: y/yes or n/no (any case). Anything else, an empty
 * line above all (a stray Enter), asks again, saying what to type: declining spends the code for
 * good, so only an explicit no may. `undefined` when the input ended before an answer.
 */
async function askYesNo(input: LineInput, question: string): Promise<'yes' | 'no' | undefined> {
  for (let prompt = question; ; prompt = 'Please type y (yes) to grant access, or n (no) to refuse: ') {
    const answer = await input.ask(prompt);
    if (answer === undefined) return undefined;
    if (isYes(answer)) return 'yes';
    if (/^\s*no?\s*$/i.test(answer)) return 'no';
  }
}

/**
 * Says why join ends. The message often carries the words of the server the code led to (its
 * refusal, its machine code, the channel it named): on an open relay that server is anyone's, so
 * the message is printed terminal-safe, as the supporter's name and messages are.
 */
function fail(message: string, exitCode = 1): void {
  console.error(`pairgate: ${terminalSafe(message)}`);
  process.exitCode = exitCode;
}

/**
 * The exit code of a failed request, by README's rule for every command: 2 when the server refused
 * what was typed (an unknown, spent or burned code: a 4xx), 1 when nothing usable answered.
 */
function exitCodeOf(error: unknown): number {
  if (!(error instanceof PairgateApiError)) return 1;
  // A relay URL that is not a relay's, or a port fetch refuses: mended by --relay, not by trying again.
  if (error.code === 'relay_bad_answer' || error.code === PORT_BLOCKED_CODE) return 2;
  return error.status >= 400 && error.status < 500 ? 2 : 1;
}

/**
 * Said when the chat's connection drops without the session ending. The code was spent by the
 * confirmation, so join cannot reconnect: a new code is the way back in.
 */
export const CONNECTION_LOST_WORDS = 'The connection to the supporter\'s server was lost, so the session is no longer live here: check your network connection, then ask your supporter for a new code and run pairgate join again. [connection_lost]';

/**
 * Said when `/diag` could not make its report: nothing reached the supporter, and the chat goes on,
 * so the person may try again or tell the supporter in words.
 */
export function diagnosticsFailedWords(error: unknown): string {
  const why = terminalLine(error instanceof Error ? error.message : String(error));
  return `The network diagnostics failed (${why}), so nothing was sent to your supporter: type /diag to try again, or tell your supporter what you see. [diagnostics_failed]`;
}

/**
 * A machine code as the server may send one. The code is the server's words (anyone's, on an
 * open relay): one of another shape (spaces, brackets, a paragraph) is said as `channel_error`, so
 * the bracketed code at the line's end stays one a script can match.
 */
const SERVER_CODE = /^[a-z][a-z0-9_]{0,63}$/;

/** What the person does about an `error` event of the chat, by its code; the server's own words are said before it. */
const CHANNEL_ERROR_ADVICE: Record<string, string> = {
  // A line longer than the server takes (its words say how long), or a report it refused.
  bad_message: 'What you sent last did not reach your supporter: shorten it and send it again.',
  internal_error: 'What you sent last may not have reached your supporter: send it again, and if this keeps happening, tell your supporter.',
  // The server closes this connection next: the other join holds the session now.
  agent_already_connected: 'This window no longer holds the session: go on in the other one, or ask your supporter for a new code.',
};

/**
 * The line for an `error` event of the session channel: the server's words, what to do (by its
 * code), and the code in brackets, as every CLI error has it (`pairgate: <sentence> [<code>]`).
 * Not yet terminal-safe: the caller prints it through `terminalSafe`.
 */
export function channelErrorWords(event: ChannelEvent): string {
  const code = typeof event.code === 'string' && SERVER_CODE.test(event.code) ? event.code : 'channel_error';
  const said = terminalLine(typeof event.message === 'string' ? event.message : '').trim();
  const saidSentence = said ? `The supporter's server said: ${/[.!?]$/.test(said) ? said : `${said}.`} ` : '';
  const advice = CHANNEL_ERROR_ADVICE[code] ?? 'If the chat stops working, type /quit and ask your supporter for a new code.';
  return `${saidSentence}${advice} [${code}]`;
}

/**
 * Runs the chat until the session ends, the connection is lost, the person quits or presses Ctrl-C.
 * `server` is the supporter's server, which the diagnostics also check.
 */
async function runSession(channel: SessionChannel, input: LineInput, supporter: string, server: string, greeting: string[]): Promise<number> {
  return new Promise<number>((resolve) => {
    let done = false;
    let diagnosing = false;
    // The doctor takes a few seconds (multicast, reaching itself): the chat goes on meanwhile.
    const shareDiagnostics = (): void => {
      if (diagnosing) {
        console.log('The network diagnostics are still running.');
        return;
      }
      diagnosing = true;
      console.log('Running the network diagnostics (a few seconds)...');
      networkReport({ server })
        .then((report) => {
          if (done) return;
          channel.sendDiagnostics(report);
          const counts = report.counts as Record<string, number> | undefined;
          console.log(`Network diagnostics sent to your supporter${counts ? ` (${counts.ok} ok, ${counts.warn} warnings, ${counts.fail} failed)` : ''}.`);
        })
        .catch((error: unknown) => console.error(`pairgate: ${terminalSafe(diagnosticsFailedWords(error))}`))
        .finally(() => {
          diagnosing = false;
        });
    };
    const finish = (code: number, message: string, toStderr = false): void => {
      if (done) return;
      done = true;
      (toStderr ? console.error : console.log)(message);
      input.close();
      resolve(code);
    };
    const quit = (): void => {
      if (done) return;
      channel.end();
      // The server answers with `ended`; if it does not within a moment, close anyway.
      setTimeout(() => {
        channel.close();
        finish(0, 'You ended the session.');
      }, 2_000).unref();
    };
    // Before onEvent, which prints at once what came with the welcome (the chat so far): Ctrl-C
    // pressed as it appears ends the session, where Node's default left it open with nobody there.
    // SIGTERM (a script or a service manager stopping join) ends it too, for the same reason.
    for (const signal of STOP_SIGNALS) process.once(signal, quit);
    channel.onEvent((event) => {
      if (event.type === 'message' && event.from === 'supporter') console.log(chatLine(`${supporter}: `, String(event.text)));
      else if (event.type === 'history' && Array.isArray(event.messages) && event.messages.length > 0) {
        // What the supporter wrote before the person joined (the server keeps the latest 200).
        console.log('Said before you joined:');
        for (const said of event.messages) console.log(chatLine(`${said.from === 'supporter' ? supporter : 'You'}: `, String(said.text)));
      } else if (event.type === 'peer_left' && event.peer === 'supporter') console.log(supporterLeftWords(event.expiresAt));
      // `first`: the person had never been told of a supporter, so it is no return.
      else if (event.type === 'peer_joined' && event.peer === 'supporter') console.log(event.first === true ? 'Your supporter has joined the session.' : 'Your supporter is back.');
      else if (event.type === 'error') console.error(`pairgate: ${terminalSafe(channelErrorWords(event))}`);
    });
    const ended = (reason: string): void => {
      const why = reason === 'supporter' || reason === 'deleted' ? 'The supporter ended the session.' : reason === 'expired' ? 'The session has expired.' : reason === 'agent' ? 'You ended the session.' : 'Session ended.';
      finish(0, why);
    };
    channel.on('ended', ended);
    channel.on('close', ({ lost }: { lost: boolean }) => {
      if (lost) finish(1, `pairgate: ${CONNECTION_LOST_WORDS}`, true);
    });
    // An end read with the welcome (in its packet, or in the read of the history) was emitted while
    // connectAgent still waited for the welcome, before the listener above: onEvent replays the
    // events, not the channel's `ended`, and the chat waited forever for a session already gone.
    if (channel.ended !== undefined) ended(channel.ended);
    // Nothing is live to greet the person for, or to read their lines for.
    if (done) return;
    // Said only now: whoever reads "live" may press Ctrl-C at once, and before the listener (put
    // in place before onEvent) a SIGINT would kill the process without ending the session.
    for (const line of greeting) console.log(line);
    if (channel.welcome?.supporterAttached === false) console.log('Your supporter is not attached right now; what you write reaches them when they attach.');
    input.stream((line) => {
      const text = line.trim();
      if (!text) return;
      if (text === '/quit' || text === '/end') quit();
      else if (text === '/diag') shareDiagnostics();
      else channel.say(text);
    }, quit);
  });
}

/**
 * `pairgate join [CODE]`: the agent of the support door (the seed's PC Assist app). Asks for the
 * code, resolves it through the relay, shows who is asking and asks to confirm, then holds the
 * session until it ends.
 */
export function registerJoinCommand(program: Command): void {
  program
    .command('join [code]')
    .description('let a supporter help you: enter the code they read out, confirm, and chat')
    .option('-r, --relay <url>', 'the pairing relay (PAIRGATE_RELAY_URL)', DEFAULT_RELAY)
    .option('-y, --yes', 'confirm without asking (for scripts)')
    .addHelpText('after', `
Without a code, it asks for one. In the session, lines are messages, /diag
shares a network diagnostics report with the supporter, /quit (or Ctrl-C) ends
it. Its questions are on standard error: standard output holds only what it
says (a script may pipe the code and the answer in).

Example:
  $ pairgate join 7auu83 --relay https://support.example.com/relay

Ctrl-C before you answer decides nothing: the code still works until it
expires, and the command ends with exit status 130. Ctrl-C after a yes, before
the chat begins, ends the session as in the chat (once the server has answered
the confirmation: before, it cannot), with exit status 130. A no that does not
reach the server (unreachable, or Ctrl-C first) spends nothing: the code still
works until it expires, and your supporter is not told; the command says so.
SIGTERM does as Ctrl-C does, with exit status 143 where Ctrl-C has 130.

Exit code: 0 when the session ended in the chat (by either side, /quit,
Ctrl-C or SIGTERM) or the server took your no (n or no: an empty answer asks
again), 130 when stopped with Ctrl-C before the chat began (143 with SIGTERM),
2 for no valid code (after three tries), no answer before the input ended
(nothing is decided: the code still works until it expires), a code the relay
or server refused (unknown, expired, already used, to a yes or a no) or a
--relay URL where no relay answers (a page instead), 1 when the relay or
server cannot be reached (for a no too), the connection to it was lost, or the
server named a session channel on another server (it is never connected to:
the session is ended instead).`)
    .action(async (typed: string | undefined, options: { relay: string; yes?: boolean }) => {
      httpUrlOption(options.relay, '--relay (or PAIRGATE_RELAY_URL)', 'https://support.example.com/relay');
      // The support client (and its WebSocket library) loads only for this command.
      const { confirmPairing, connectAgent, fetchPairingInfo, sessionChannelOf, SupportRelayClient } = await import('../../sdk/support.js');
      // The questions on standard error, as lan's: standard output is what join says (a script
      // piping the code and the answer in reads it), never the questions asked of the person.
      const input = new LineInput(process.stdin, process.stderr);
      // Until the person answers, Ctrl-C decides nothing: declining would spend the code for good.
      const interrupt = whileInterruptible(NOTHING_DECIDED, STOP_SIGNALS);
      let joining: InterruptibleWait | undefined;
      let declining: InterruptibleWait | undefined;
      try {
        // The alphabet and length catch a mistyped code before any request is made.
        let code: string | undefined;
        for (let tries = 0; tries < 3 && !code; tries++) {
          const raw = typed ?? (await input.ask('Pairing code (6 characters): '));
          // The input ended: after codes refused above, "no code given" read as if none had been typed.
          if (raw === undefined) return fail(tries === 0 ? 'No code given: run pairgate join with the code your supporter reads you, or type it at the question. [code_missing]' : 'The input ended before a valid code was given. [code_missing]', 2);
          const parsed = relayCodeFormat.parse(raw);
          if (parsed.ok) code = parsed.code;
          // One error, the precise one: a code on the command line is not asked for again. With the
          // machine code the server gives the same refusal (code_wrong_length, code_bad_character).
          else if (typed !== undefined) return fail(`${parsed.message} [code_${parsed.problem}]`, 2);
          else console.error(`pairgate: ${parsed.message} [code_${parsed.problem}]`);
        }
        if (!code) return fail('No valid code after three tries: ask your supporter to read it again, then run pairgate join again. [code_invalid]', 2);

        const relay = new SupportRelayClient(options.relay);
        let pairingUrl: string;
        let info;
        try {
          pairingUrl = await relay.resolve(code, { signal: interrupt.signal });
          info = await fetchPairingInfo(pairingUrl, undefined, { signal: interrupt.signal });
        } catch (error) {
          // Ctrl-C: the process ends by the signal once its line is out.
          if (interrupt.signal.aborted) return new Promise<never>(() => undefined);
          return fail(explain(error), exitCodeOf(error));
        }
        // Names come from the supporter's server: printed so that they cannot drive the terminal.
        // On one line each: a line break in them would add lines of the server's making at the question.
        const supporterName = shownName(String(info.SupporterName));
        const companyName = info.CompanyName ? shownName(String(info.CompanyName)) : '';
        const who = `${supporterName}${companyName ? ` of ${companyName}` : ''}`;
        console.log(`Supporter: ${supporterName}`);
        if (companyName) console.log(`Company:   ${companyName}`);
        // The names are the server's own claim, and on an open relay a code may lead to anyone's
        // server: where the code led is the one thing here the person can check (as a browser's
        // address bar shows it), its host as the URL parser spells it (an international name in
        // its xn-- form, so a look-alike shows as one).
        console.log(`Server:    ${terminalLine(new URL(pairingUrl).host)}`);
        const answer = options.yes ? 'yes' : await askYesNo(input, `Do you really want to grant access to ${who}? [y/n] `);
        // Answered: the question's Ctrl-C handling is over (after a yes, `unstartedSession`'s takes over).
        interrupt.done();
        if (answer === undefined) {
          // No answer (the input ended): nothing is decided. Declining would spend the code for good;
          // left alone, it keeps working until it expires, so the person may run join again.
          // (No time is given: the pairing info's ExpiresAt is the session's, and the code dies sooner.)
          return fail('No answer (the input ended): nothing was confirmed or declined, so the code still works until it expires (a few minutes after your supporter gave it): run pairgate join again to answer. [no_answer]', 2);
        }
        if (answer === 'no') {
          // Until the server answers, Ctrl-C says that the no may not have reached it.
          declining = whileInterruptible(DECLINE_UNANSWERED, STOP_SIGNALS);
          const outcome = await decline(confirmPairing, pairingUrl, declining.signal);
          // Ctrl-C: the process ends by the signal once its line is out.
          if (declining.signal.aborted) return new Promise<never>(() => undefined);
          if (outcome.exitCode !== 0) return fail(outcome.line, outcome.exitCode);
          console.log(outcome.line);
          return;
        }
        // From "yes" to the chat, Ctrl-C aborts the call under way and ends a session already confirmed.
        const progress: Joining = { who };
        joining = whileInterruptible(unstartedSession(progress, connectAgent), STOP_SIGNALS);
        let channel: SessionChannel;
        let confirmation: Confirmation | undefined;
        try {
          confirmation = await confirmPairing(pairingUrl, 'accept', undefined, { signal: joining.signal });
          const channelUrl = sessionChannelOf(pairingUrl, confirmation.MeshServer);
          progress.confirmed = { channelUrl, credential: confirmation.AgentCredential, expiresAt: confirmation.ExpiresAt };
          // With the history: what the supporter wrote before the person joined is shown first.
          channel = await connectAgent(channelUrl, confirmation.AgentCredential, 'pairgate-join', { history: true, signal: joining.signal });
        } catch (error) {
          // Ctrl-C: the process ends by the signal once the clean-up's line is out.
          if (joining.signal.aborted) return new Promise<never>(() => undefined);
          if (!(confirmation && error instanceof PairgateApiError && error.code === 'session_channel_elsewhere')) return fail(explain(error), exitCodeOf(error));
          const line = await endSessionElsewhere(error, pairingUrl, confirmation, progress, connectAgent, joining.signal);
          if (joining.signal.aborted) return new Promise<never>(() => undefined);
          return fail(line, 1);
        }
        // Handed over in the same turn, no signal handled in between: runSession's Ctrl-C ends the session.
        joining.done();
        // The supporter's server: the pairing URL is `<server>/pairing/<code>`.
        const server = pairingUrl.replace(/\/pairing\/[^/]*$/, '');
        process.exitCode = await runSession(channel, input, supporterName, server, [
          `Connected: the session with ${who} is live.`,
          'Type a message and press Enter. /diag shares a network diagnostics report (host name, network addresses, connectivity checks) with your supporter, /quit (or Ctrl-C) ends the session.',
        ]);
      } finally {
        interrupt.done();
        joining?.done();
        declining?.done();
        input.close();
      }
    });
}
