import { dirname } from 'node:path';
import { remoteError, type FramedChannel } from './frames.js';
import { PeerIdConflictError, PeerNotSavedError, ProtocolError, TrustNotSavedError, TrustUnconfirmedError } from './lan-errors.js';
import { terminalText } from './terminal-text.js';
import { peersRemoveCommand, type PeerSave, type TrustedPeer, type TrustedPeerStore } from './trusted-peers.js';

/**
 * The end of pairing: each side saves the other as a trusted peer, and keeps it only if the other
 * saved too.
 *
 * Each side used to save on its own and close: when one save failed (a full disk, a folder it
 * cannot write, `peers.json` locked by another command or damaged), the other device kept trusting
 * a device that did not trust it back, and its person was told "Paired". Now, when both sides said
 * so in their identity messages (`confirmTrust` in `session.ts`):
 *
 * ```
 * each side  saves the peer, or fails to
 * each side  -> {t: 'saved'}   or   -> {t: 'error', code: 'lan_peer_not_saved', message}
 * each side  waits for the other's word: keeps its entry on 'saved', takes it back on anything else
 * ```
 *
 * So a failed save on either side ends with neither device trusting the other, and each person is
 * told which device failed, what it was told, and what to do. What no protocol can close (the two
 * generals): a connection cut after one side's 'saved' arrived and before the other's did; then one
 * side keeps the peer and the other takes it back and says "pair again", which settles both (saving
 * a device already trusted only updates it).
 *
 * An older pairgate on the other side (no `trust` in its identity) saves and closes without a
 * word: this side then saves as before, and a failed save says the other may keep this device.
 */

/** What to commit, and how long to wait for the other side's word. */
export interface TrustCommit {
  store: TrustedPeerStore;
  /** The peer as the exchange described it. */
  peer: Omit<TrustedPeer, 'pairedAt' | 'lastSeenAt'>;
  /** This device, named in what the person may have to run on the other one. */
  self: { deviceId: string; name: string };
  /** The peer confirms its save (`ExchangeResult.peerConfirmsTrust`). */
  peerConfirms: boolean;
  /** Longest wait for the other side's word (its save may wait seconds for its lock). */
  timeoutMs: number;
}

/** The other side's word on its save. */
export type Answer =
  | { kind: 'saved' }
  | { kind: 'not-saved'; reason: string }
  | { kind: 'refused'; error: Error }
  | { kind: 'silent'; error: Error };

/** What taking our own entry back did. */
type Undone = { kind: 'undone' } | { kind: 'changed' } | { kind: 'failed'; error: Error };

/**
 * Saves `commit.peer` and settles with the other side (see the module comment). Returns the peer
 * as stored when both saved. Throws TrustNotSavedError (`lan_trust_not_saved`) when this side
 * could not save, PeerNotSavedError (`lan_peer_not_saved`) when the other could not,
 * TrustUnconfirmedError (`lan_trust_unconfirmed`) when it never said, or the other side's refusal;
 * in each case this side keeps no new trust (unless taking it back failed, which the message says).
 */
export async function commitTrust(channel: FramedChannel, commit: TrustCommit): Promise<TrustedPeer> {
  const outcome = await trySave(commit);
  if (!commit.peerConfirms) {
    if (outcome.failure instanceof PeerIdConflictError) throw new PeerIdConflictError(`${outcome.failure.message} The other device runs an older pairgate, which keeps this device whatever happens here: ${removeThere(commit.self)}.`);
    if (outcome.failure) throw new TrustNotSavedError(`${ownFailure(commit, outcome.failure)} The other device runs an older pairgate, which keeps this device whatever happens here: ${removeThere(commit.self)}. ${fixHint(commit, outcome.failure)}Then pair again.`);
    return outcome.save.trusted;
  }
  // A refusal to save (an id conflict included) goes out as `lan_peer_not_saved`, in place of
  // 'saved': the other device never hears that this one kept it, takes its own entry back, and an
  // older pairgate there reads the word it knows.
  channel.send(outcome.failure
    ? { t: 'error', code: 'lan_peer_not_saved', message: `It could not save this device as a trusted peer: ${shortReason(outcome.failure)}.` }
    : { t: 'saved' });
  const answer = await othersWord(channel, commit.timeoutMs);
  // Refused, not failed: nothing to fix here but the peers list, which the message says how.
  if (outcome.failure instanceof PeerIdConflictError) throw new PeerIdConflictError(`${outcome.failure.message} ${whatTheOtherDid(commit, answer)}`);
  if (outcome.failure) throw new TrustNotSavedError(`${ownFailure(commit, outcome.failure)} ${whatTheOtherDid(commit, answer)} ${fixHint(commit, outcome.failure)}Then pair again.`);
  if (answer.kind === 'saved') return outcome.save.trusted;
  throw answerError(commit, answer, await takeBack(commit.store, outcome.save));
}

async function trySave(commit: TrustCommit): Promise<{ save: PeerSave; failure?: undefined } | { failure: Error; save?: undefined }> {
  try {
    return { save: await commit.store.saveUndoable(commit.peer) };
  } catch (error) {
    return { failure: error as Error };
  }
}

/** The other side's next message, read as its word on its save (also `lan connect`'s, `connect.ts`). */
export async function othersWord(channel: FramedChannel, timeoutMs: number): Promise<Answer> {
  let frame;
  try {
    frame = await channel.receive(timeoutMs);
  } catch (error) {
    return { kind: 'silent', error: error as Error };
  }
  if (frame.kind === 'json' && frame.message.t === 'saved') return { kind: 'saved' };
  if (frame.kind === 'json' && frame.message.t === 'error') {
    if (frame.message.code === 'lan_peer_not_saved') return { kind: 'not-saved', reason: terminalText(frame.message.message, 300) };
    return { kind: 'refused', error: remoteError(frame.message) };
  }
  return { kind: 'refused', error: new ProtocolError('The other device sent something else than whether it saved this device.') };
}

async function takeBack(store: TrustedPeerStore, save: PeerSave): Promise<Undone> {
  try {
    return (await store.undo(save)) ? { kind: 'undone' } : { kind: 'changed' };
  } catch (error) {
    return { kind: 'failed', error: error as Error };
  }
}

/** The error for an answer other than 'saved', once our own entry was taken back (or not). */
function answerError(commit: TrustCommit, answer: Exclude<Answer, { kind: 'saved' }>, undone: Undone): Error {
  const { name } = commit.peer;
  const here = tookBack(commit, undone);
  switch (answer.kind) {
    case 'not-saved':
      return new PeerNotSavedError(`"${name}" did not complete the pairing. ${answer.reason} So ${here}. Fix the problem on "${name}" (it says what), then pair again.`);
    case 'silent':
      return new TrustUnconfirmedError(`The connection to "${name}" ended before it confirmed that it saved this device (${answer.error.message}), so ${here}. Pair again: if "${name}" says it paired, pairing again settles both.`);
    case 'refused':
      answer.error.message = `${answer.error.message} So ${here}.`;
      return answer.error;
  }
}

/** What happened to our own entry, for the end of a sentence. */
function tookBack(commit: TrustCommit, undone: Undone): string {
  const { name, deviceId } = commit.peer;
  if (undone.kind === 'undone') return `this device did not keep "${name}" as a trusted peer either: neither trusts the other`;
  if (undone.kind === 'changed') return `this device left its entry for "${name}" as another command changed it meanwhile`;
  return `this device tried to take "${name}" back as a trusted peer, but could not (${undone.error.message}): remove it with "${peersRemoveCommand(deviceId)}"`;
}

function ownFailure(commit: TrustCommit, failure: Error): string {
  return `This device could not save "${commit.peer.name}" as a trusted peer. ${failure.message.replace(/\.?$/, '.')}`;
}

/** What the other side did, as far as its word tells, after this side told it of its failure. */
function whatTheOtherDid(commit: TrustCommit, answer: Answer): string {
  const { name } = commit.peer;
  switch (answer.kind) {
    case 'saved': return `"${name}" was told, and takes this device back: neither trusts the other.`;
    case 'not-saved': return `"${name}" could not save this device either: neither trusts the other.`;
    default: return `"${name}" was told, but did not answer (${answer.error.message}): if it says it paired, ${removeThere(commit.self)}.`;
  }
}

/** What to run on the other device to forget this one. */
function removeThere(self: TrustCommit['self']): string {
  return `remove this device there ("${peersRemoveCommand(self.deviceId)}", "${self.name}")`;
}

const errorCode = (error: Error): string | undefined => (error as { code?: unknown }).code as string | undefined;

/**
 * What the other device is told of our failure: the kind of problem, never a path of this machine.
 * A folder refusing the write (EACCES, EPERM, EROFS) never arrives as such: the store wraps it
 * (`explainConfigWriteError`) as `lan_config_dir_not_writable`. A full disk arrives as Node's code.
 */
export function shortReason(failure: Error): string {
  const code = errorCode(failure);
  const what: Record<string, string> = {
    ENOSPC: 'its disk is full',
    EDQUOT: 'its disk quota is used up',
    lan_config_dir_not_writable: 'its config folder cannot be written',
    lan_peers_file_busy: 'its trusted-peer file stayed locked by another pairgate command',
    lan_bad_peers_file: 'its trusted-peer file is damaged',
    lan_peers_file_unreadable: 'its trusted-peer file cannot be read',
    lan_peer_id_conflict: 'it already trusts another device under this device\'s id, and refuses to replace it',
  };
  return `${(code && what[code]) ?? 'an error'}${code ? ` [${code}]` : ''}`;
}

/**
 * What the person here should fix, when the failure itself does not already say it: a full disk,
 * which arrives as Node's ENOSPC or EDQUOT naming only a temporary file. A folder refusing the write
 * needs no hint: it arrives wrapped as `lan_config_dir_not_writable` (`explainConfigWriteError`),
 * whose message already names the folder and what to do (make it yours and writable, or choose
 * another with --config-dir), so a hint would say it twice. The other failures (a damaged or
 * locked `peers.json`) say what to do in their own message too.
 */
function fixHint(commit: TrustCommit, failure: Error): string {
  const code = errorCode(failure);
  return code === 'ENOSPC' || code === 'EDQUOT' ? `Free some space for ${dirname(commit.store.path)}. ` : '';
}
