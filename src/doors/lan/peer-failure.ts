import { isPairgateError } from '../../core/errors.js';
import { DEVICE_ID_MISMATCH_REASON, DeviceIdMismatchError, PayloadOverLimitError, PayloadWriteError, PeerFailedError, PeerTimeoutError } from './lan-errors.js';
import { terminalText } from './terminal-text.js';

/**
 * When one device fails in the middle of an exchange (its disk fills while it receives a file, it
 * waits too long for the next message, it is stopped with Ctrl-C), it tells the other before it
 * closes: `{t: 'error', code, message}`. This file holds both halves of that word.
 *
 * - The failing side says what kind of problem it has, in the third person ("its disk is full"),
 *   with its stable code; never a path of its machine nor anything else of its own messages.
 * - The other side used to read every code it did not know as a protocol error (exit 2), which
 *   told its person "a bug, or an attacker" when the other device's disk had filled. It now says
 *   that the other device stopped, why, and what to do there: `lan_peer_failed`, exit 1. The
 *   advice is this side's own words, chosen by the code; the other device's sentence is shown
 *   only cleaned of escape sequences and control characters, and cut short.
 */

/** What a failing device tells the other. */
export interface PeerNotice {
  code: string;
  message: string;
  /** Which refusal under `code`, where the other side words it apart (`DEVICE_ID_MISMATCH_REASON`). */
  reason?: string;
}

/** The word of a device stopped by a signal (`lan-cli-support.ts` sends it on Ctrl-C or SIGTERM). */
export function interruptedNotice(signal: 'SIGINT' | 'SIGTERM'): PeerNotice {
  return { code: 'lan_interrupted', message: `it was stopped (${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'}) before it finished` };
}

const codeOf = (error: unknown): string | undefined => (isPairgateError(error) ? error.code : undefined);

/** Kinds of system errors, said without the path that Node's messages hold. */
const SYSTEM: Record<string, string> = {
  ENOSPC: 'its disk is full',
  EDQUOT: 'its disk quota is used up',
  EIO: 'its disk failed to write (EIO)',
};

/** Kinds of problems with the config folder, said without the folder. */
const CONFIG: Record<string, string> = {
  lan_config_dir_not_writable: 'it cannot write its config folder',
  lan_peers_file_busy: 'its trusted-peer file stayed locked by another pairgate command',
  lan_bad_peers_file: 'its trusted-peer file is damaged',
  lan_peers_file_unreadable: 'its trusted-peer file cannot be read',
  lan_unsafe_config_dir: 'its config folder is not safe to use',
};

/** What this device tells the other of `error`, which ended its side of the exchange. */
export function noticeForPeer(error: unknown): PeerNotice {
  const code = codeOf(error);
  if (error instanceof PayloadWriteError) {
    return { code: error.code, message: `it could not save the file it was receiving: ${(error.errno && SYSTEM[error.errno]) ?? `a write failed there${error.errno ? ` (${error.errno})` : ''}`}` };
  }
  if (error instanceof PayloadOverLimitError) {
    return { code: error.code, message: `it accepts files of at most ${error.limit} bytes (its --max-size), and this one has ${error.size}` };
  }
  if (error instanceof PeerTimeoutError) return { code: error.code, message: `it heard nothing from this device for ${error.seconds} s and gave up` };
  // Not the protocol but the device: the other side says so in its own words, not "update pairgate".
  if (error instanceof DeviceIdMismatchError) return { code: error.code, message: error.message, reason: DEVICE_ID_MISMATCH_REASON };
  // Our own words about the protocol (what arrived, never a path): the other side shows them as before.
  if (code === 'lan_protocol_error') return { code, message: (error as Error).message };
  if (code === 'lan_bad_payload') return { code, message: 'it cannot write the file into its output folder' };
  // A refusal (`refusal` in frames.ts shows it so): said from the side of the device that reads it.
  if (code === 'lan_key_not_proven') return { code, message: 'this device did not prove it holds the device key it named.' };
  if (code === 'lan_payload_changed') return { code, message: 'the file it was sending changed on its disk in the middle' };
  if (code !== undefined && CONFIG[code]) return { code, message: CONFIG[code] };
  if (code !== undefined) return { code, message: `it failed (${code}); pairgate says why on that device` };
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === 'string' && SYSTEM[errno]) return { code: 'lan_failed', message: SYSTEM[errno] };
  return { code: 'lan_failed', message: 'it failed with an unexpected error; pairgate says why on that device' };
}

/** What to do about each kind of failure of the other device, in this side's own words. */
const ADVICE: Record<string, string> = {
  lan_write_failed: 'free some space there, or give it another folder with --out, then try again',
  lan_bad_payload: 'give it a folder it can write with --out, then try again',
  lan_payload_too_large: 'send a smaller file, or run it there with a larger --max-size, then try again',
  // The silence may have been this device's (paused, asleep): not "nothing went wrong here".
  lan_timeout: 'check the network between the two devices, and that this one was not paused or asleep, then try again',
  lan_interrupted: 'try again when pairgate runs there again',
  lan_payload_changed: 'try again once nothing writes to that file there',
};
const DEFAULT_ADVICE = 'see what pairgate says on the other device, fix that, then try again';

/**
 * The codes `noticeForPeer` and `interruptedNotice` send by name: what a pairgate may say of its own
 * failure. Before the other end has proven the secret or code, a code outside these (and the
 * refusals `frames.ts` knows) is a protocol error, not a failure to pass on.
 */
export const PEER_FAILURE_CODES: ReadonlySet<string> = new Set([
  ...Object.keys(ADVICE), ...Object.keys(CONFIG), 'lan_failed', 'lan_protocol_error', 'lan_key_not_proven',
]);

/** A peer's code as this side shows it: a code of the usual shape, else `unknown`. */
function peerCodeOf(code: unknown): string {
  return typeof code === 'string' && /^[a-z][a-z0-9_]{0,39}$/.test(code) ? code : 'unknown';
}

/** The other device's own sentence, safe on a terminal: no escape sequences nor controls, one line, at most 200 characters. */
export function peerSentence(text: unknown): string {
  const cleaned = terminalText(text, 400).replace(/\s+/g, ' ').trim().slice(0, 200).replace(/[.\s]+$/, '');
  return cleaned || 'it gave no reason';
}

/**
 * The error for the word `{t: 'error', code, message}` of a device that failed in the middle.
 * `shown` false (the other end has not proven the secret or code yet): its sentence is left out.
 */
export function peerFailed(code: unknown, message: unknown, shown = true): PeerFailedError {
  const peerCode = peerCodeOf(code);
  const why = shown ? `${peerSentence(message)} (${peerCode} there)` : `${peerCode} there (its own words are not shown before it proves the secret or code)`;
  return new PeerFailedError(
    `The other device stopped before the exchange finished: ${why}. ${peerCode === 'lan_timeout' ? 'To fix it' : 'Nothing went wrong on this device'}: ${ADVICE[peerCode] ?? DEFAULT_ADVICE}.`,
    peerCode,
  );
}
