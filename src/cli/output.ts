import { isPairgateError } from '../core/errors.js';
import { NOT_PAIRGATE_CODE, PairgateApiError, PORT_BLOCKED_CODE } from '../sdk/errors.js';
import { openFileLimit } from '../server/connection-cap.js';

const NOT_FROM_PAIRGATE = '; the answer has no pairgate error in it: check that the URL given is the pairgate server (or that a proxy in front of it passes requests on)';

/**
 * True when the answer held no error in any of pairgate's shapes and the SDK made a code of its
 * status (`http_404`): every pairgate route answers one, so something else answered at that URL.
 */
function notFromPairgate(error: PairgateApiError): boolean {
  const body = (typeof error.body === 'object' && error.body !== null ? error.body : {}) as Record<string, unknown>;
  const shaped = ['error', 'Error', 'code', 'Code'].some((key) => typeof body[key] === 'string');
  return /^http_\d+$/.test(error.code) && !shaped;
}

/**
 * Client-side refusals the person fixes with an option, as they fix bad input: a certificate to
 * trust (`--update-ca`), a name the certificate holds (both with no answer, status 0), a URL
 * where something other than pairgate answers (`--server`), an https:// URL of a port that does not
 * speak TLS (`--update-api`).
 */
const FIXED_BY_AN_OPTION = new Set(['tls_untrusted', 'tls_name_mismatch', 'tls_not_spoken', NOT_PAIRGATE_CODE, PORT_BLOCKED_CODE]);

/** Exit code of a command whose reader went away: a process killed by SIGPIPE, as shells report it (128 + 13). */
export const CLOSED_PIPE_EXIT_CODE = 141;

/**
 * Makes every command stop quietly when whoever reads its output stops reading
 * (`pairgate box advertise --help | head -1`): the next write fails with EPIPE, which Node raises
 * as an unhandled 'error' event, a stack trace and exit code 1. git and ls die of SIGPIPE there
 * without a word; Node ignores that signal, so the process exits itself with the code the shell
 * would show for them. Standard error too: `2>&1 | head` closes both.
 */
export function exitQuietlyWhenReaderCloses(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(CLOSED_PIPE_EXIT_CODE);
      // Any other write failure (a full disk behind a redirection) is still a failure to report.
      throw error;
    });
  }
}

/**
 * Prints an error for a person: the message and, for pairgate errors, the machine code. Returns
 * the exit code: 2 for bad input or configuration, 1 otherwise.
 */
export function reportCliError(error: unknown): number {
  if (isPairgateError(error)) {
    console.error(`pairgate: ${error.message} [${error.code}]`);
    return error.status >= 400 && error.status < 500 ? 2 : error.code === 'config_invalid' ? 2 : 1;
  }
  if (error instanceof PairgateApiError) {
    // network_error too: a server that cannot be reached is said in the shape of every other error.
    console.error(`pairgate: ${error.message} [${error.code}]${notFromPairgate(error) ? NOT_FROM_PAIRGATE : ''}`);
    return (error.status >= 400 && error.status < 500) || FIXED_BY_AN_OPTION.has(error.code) ? 2 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`pairgate: ${message}${tooFewFilesHint(error)}`);
  return 1;
}

/** The open-file limit read as the CLI started (`noteOpenFileLimit`): by the time loading fails, no descriptor is left to read it. */
let openFileLimitAtStart: number | undefined;

/** Reads the process's open-file limit now, for `reportCliError`'s hint; before any command runs. */
export function noteOpenFileLimit(): void {
  openFileLimitAtStart = openFileLimit();
}

/** Below this open-file limit, Node may fail to load pairgate's modules at all. */
const FEWEST_FILES = 1024;

/**
 * Under a low open-file limit Node's module loader runs out of descriptors while it loads
 * pairgate, and says "Cannot find package" of a package that is there (ERR_MODULE_NOT_FOUND), or
 * EMFILE: the person is told what is really wrong. Empty otherwise.
 */
function tooFewFilesHint(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'EMFILE') return '';
  const limit = openFileLimitAtStart;
  if (limit === undefined || limit >= FEWEST_FILES) return '';
  return `\npairgate: this process may hold only ${limit} open files at once (the hard limit: ulimit -Hn, or LimitNOFILE= in a systemd unit), too few to load pairgate: raise it to ${FEWEST_FILES} or more and start again.`;
}
