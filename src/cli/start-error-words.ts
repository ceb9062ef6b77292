import { ConfigError, isPairgateError, PairgateError } from '../core/errors.js';

/**
 * `pairgate serve`'s start-up refusals said as every other CLI error is said: "pairgate: ", a
 * sentence that says what to do, the machine code (`reportCliError`). The server's own words are
 * "KEY: expected X, got Y" (`ConfigError`) or "cannot listen on ...", written for a log line;
 * their codes stay as they are (`config_invalid`, `address_in_use`, ...), only the words change.
 */

/** The flag that sets each key, to name it when a value it gave is refused. */
const FLAG_OF: Readonly<Record<string, string>> = {
  PAIRGATE_PORT: '--port',
  PAIRGATE_HOST: '--host',
  PAIRGATE_DATA_DIR: '--data-dir',
  PAIRGATE_PUBLIC_URL: '--public-url',
};

/** `text` as a sentence: its first letter upper case, a full stop at its end unless it has one. */
function sentence(text: string): string {
  const said = `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
  return /[.?!]$/.test(said) ? said : `${said}.`;
}

/**
 * Where a refused value is changed, from the origin `loadConfig` put after it ("the environment",
 * a --config file's path); undefined when no origin was said (a flag typed, or no value given).
 */
function whereToChange(origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  return origin === 'the environment' ? 'change it in the environment' : `change it in ${origin}`;
}

/**
 * The words of a `ConfigError` of `name` (the flag typed, or the key) whose own words, after
 * "KEY: ", are `said`, as a sentence; undefined for words it does not know (said as they are).
 * `typed`: the value came from the flag `name`, so the other keys the words name are said as flags
 * too ("the port is PAIRGATE_PORT": --port).
 */
function configSentence(name: string, said: string, typed: boolean): string | undefined {
  // loadConfig's origin ends the words: " (set in the environment)", " (set in <file>)". Greedy,
  // so a refused value that holds the same words is not taken for it.
  const placed = /^(.*) \(set in (.+)\)$/s.exec(said);
  const words = placed ? placed[1]! : said;
  const where = whereToChange(placed?.[2]);
  // The value given is JSON text, so ", got \"" ends the words of what is expected, whatever it holds.
  const refused = /^expected (.+?), got (".*"|nothing|[^\s"]+)$/s.exec(words);
  if (refused) {
    const expected = typed ? refused[1]!.replace(/\bPAIRGATE_[A-Z_]+\b/g, (key) => FLAG_OF[key] ?? key) : refused[1]!;
    const given = refused[2] === 'nothing' ? 'not given' : `not ${refused[2]!}`;
    // A flag typed is changed where it was typed; a key given nowhere, in either place.
    const todo = where ?? (typed ? undefined : 'set it in the environment or the --config file');
    return `${name} must be ${expected}, ${given}${todo ? `: ${todo}` : ''}.`;
  }
  // "expected 32 random bytes in base64 (...)": what it takes, the value (a secret) not said.
  const takes = /^expected (.+)$/s.exec(words);
  if (takes) return sentence(`${name} must be ${takes[1]!}${where ? `: ${where}` : ''}`);
  // The data folder's (makeFolder): "cannot create /x (EACCES); choose a folder ...", or
  // "cannot create /x: it is on a read-only file system; choose ...".
  const notMade = /^cannot create (.+?)((?: \([^)]*\))?)[;:] (.+)$/s.exec(words);
  if (notMade) return sentence(`Cannot create ${notMade[1]!} for ${name}${notMade[2]!}: ${notMade[3]!}`);
  // "/x is not a folder; choose a folder ..." (/x the folder named or one on its way).
  const notFolder = /^(.+) is not a folder; (.+)$/s.exec(words);
  if (notFolder) return sentence(`Cannot use ${notFolder[1]!} for ${name}: it is not a folder; ${notFolder[2]!}`);
  return undefined;
}

/**
 * `error`, a refusal of `serve`'s start-up, said as a sentence with its code kept (anything else
 * as it is). A `ConfigError` about a key a flag overrode (`overrides`) names the flag typed rather
 * than the key (`serve --host [::1]` was told "PAIRGATE_HOST: expected ...", a key the person
 * never wrote): "--host must be X, not "Y".".
 */
export function startErrorSaid(error: unknown, overrides: Readonly<Record<string, unknown>>): unknown {
  if (error instanceof ConfigError) {
    const typed = error.key in overrides && FLAG_OF[error.key] !== undefined;
    const name = typed ? FLAG_OF[error.key]! : error.key;
    const said = error.message.startsWith(`${error.key}: `) ? error.message.slice(error.key.length + 2) : error.message;
    const sentenced = configSentence(name, said, typed);
    // Words not known here (a store's refusal, a key file's) are said as they are, under the flag typed.
    if (sentenced === undefined) return typed ? new ConfigError(name, said) : error;
    // Still config_invalid, for the flag or key; its message a sentence, not ConfigError's "KEY: ...".
    return Object.assign(new ConfigError(name, ''), { message: sentenced });
  }
  // "cannot listen on 127.0.0.1:8080: another program already does ... (0 picks a free one)."
  // Only those: another refusal may start with a name that keeps its case ("pairgate.db in ...").
  if (!isPairgateError(error) || !error.message.startsWith('cannot listen on ')) return error;
  return new PairgateError(error.code, error.status, sentence(error.message), error.details);
}
