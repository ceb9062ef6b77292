import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, copyFileSync, createReadStream, createWriteStream, linkSync, lstatSync, openSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { remoteError, type FramedChannel } from './frames.js';
import { ConflictError, InvalidRequestError } from '../../core/errors.js';
import { PayloadOverLimitError, PayloadWriteError, ProtocolError } from './lan-errors.js';

/**
 * Sending and receiving the payload (a file or a config blob) over an authenticated channel, with
 * progress reports, a size limit, an integrity check and a safe file name on the receiving side.
 */

/** Called as bytes move: `done` of `total`. */
export type Progress = (direction: 'send' | 'receive', done: number, total: number, name: string) => void;

/** What was sent or received. */
export interface PayloadInfo {
  name: string;
  size: number;
  sha256: string;
  /** Where the receiver wrote it. */
  path?: string;
}

/**
 * The `.partial` files of payloads being received now. A command stopped in the middle (Ctrl-C)
 * removes them before it exits (`removePartialPayloads`): the `catch` below never runs then, and
 * each would stay in the person's folder for good, half a file under a name they did not choose.
 */
const receiving = new Set<string>();

/**
 * Removes the `.partial` files of the payloads still being received, for a command about to exit
 * on a signal; returns their paths. Synchronous, so it completes inside a signal handler.
 */
export function removePartialPayloads(): string[] {
  const removed = [...receiving];
  for (const partial of removed) {
    try {
      unlinkSync(partial);
    } catch {
      // Already renamed or removed.
    }
  }
  receiving.clear();
  return removed;
}

/** Default limit of a received payload: 1 GiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 ** 3;

/**
 * Most UTF-8 bytes of a received file's name: file systems take 255 (ext4, APFS, NTFS in UTF-16
 * units), and the name gets ` (999)` and `.partial` added while it is received.
 */
export const MAX_FILE_NAME_BYTES = 200;

/** Longest extension kept whole when a long name is shortened. */
const MAX_KEPT_EXTENSION_BYTES = 20;

/**
 * Names Windows gives to devices, with any extension (`CON.txt`, `nul.tar.gz`): a file created
 * there under one is the console, the printer or nothing, not a file in the folder.
 */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])$/i;

/** `text` cut to at most `bytes` bytes of UTF-8, between characters (never half a surrogate pair). */
function cutUtf8(text: string, bytes: number): string {
  let kept = '';
  let used = 0;
  for (const character of text) {
    used += Buffer.byteLength(character, 'utf8');
    if (used > bytes) break;
    kept += character;
  }
  return kept;
}

/**
 * A file name from the other device made harmless: no folders, no leading dot, no odd characters,
 * composed (NFC: an accent sent as a separate mark is kept as the accented letter, not turned
 * into `_`), at most MAX_FILE_NAME_BYTES bytes of UTF-8 with its extension kept (a name of 100
 * characters of three bytes each was over the file system's 255 and failed as a write error,
 * "free some space"), and on Windows never a device name (`_CON.txt`). Two names that differ
 * only by case or normalisation may still name one file on some file systems: the received file
 * then takes a numbered name (`createPartial`), never the other's place.
 */
export function safeFileName(name: string, platform: NodeJS.Platform = process.platform): string {
  const cleaned = basename(name.normalize('NFC').replace(/\\/g, '/')).replace(/[^\p{L}\p{N} ._-]/gu, '_').replace(/^[.\s]+/, '');
  let short = cleaned;
  if (Buffer.byteLength(cleaned, 'utf8') > MAX_FILE_NAME_BYTES) {
    const dot = cleaned.lastIndexOf('.');
    const extension = dot > 0 && Buffer.byteLength(cleaned.slice(dot), 'utf8') <= MAX_KEPT_EXTENSION_BYTES ? cleaned.slice(dot) : '';
    short = cutUtf8(cleaned.slice(0, cleaned.length - extension.length), MAX_FILE_NAME_BYTES - Buffer.byteLength(extension, 'utf8')) + extension;
  }
  if (platform === 'win32') {
    // Windows drops trailing dots and spaces (`a.txt.` is `a.txt`), and reads the part before the first dot as a device name.
    short = short.replace(/[.\s]+$/, '');
    if (WINDOWS_DEVICE.test(short.split('.')[0]!.trimEnd())) short = `_${short}`;
  }
  return short || 'payload.bin';
}

/**
 * Checks before any connection that the payload to send is a file this user can read and the
 * folder for a received one is a folder, so a typo fails at once (exit 2, saying which option)
 * instead of in the middle of a pairing.
 */
export function checkPayloadOptions(payloadPath: string | undefined, outDir: string | undefined): void {
  if (payloadPath) {
    const problem = pathProblem(payloadPath, 'file');
    if (problem) throw new InvalidRequestError(`--payload ${payloadPath}: ${problem}.`, undefined, 'lan_bad_payload');
  }
  if (outDir !== undefined) {
    // Not checked for writing: most exchanges bring no file, and an offer run in a folder it
    // cannot write (its default --out) must still pair. A file that comes is refused then, and
    // the sender told (`lan_bad_payload`).
    const problem = pathProblem(outDir, 'folder');
    if (problem) throw new InvalidRequestError(`--out ${outDir}: ${problem}.`, undefined, 'lan_bad_payload');
  }
}

/** What is wrong with `path` as the `kind` an option names, said with what to do; undefined when nothing. */
function pathProblem(path: string, kind: 'file' | 'folder'): string | undefined {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return kind === 'file' ? 'there is no such file; give the path of the file to send' : 'there is no such folder; create it, or choose another for received files';
  }
  if (kind === 'file' && !stats.isFile()) return `this is ${stats.isDirectory() ? 'a folder' : 'not a regular file'}; --payload sends one file (put several in an archive first)`;
  if (kind === 'folder') return stats.isDirectory() ? undefined : 'this is not a folder; choose a folder for received files';
  try {
    accessSync(path, constants.R_OK);
  } catch {
    return 'this file cannot be read by you; fix its permissions, or send a copy you can read';
  }
  return undefined;
}

/**
 * Something on this machine wrote to the file being sent: not the other device's doing, nor a
 * protocol fault; the person sends it again once it is left alone (exit 2).
 */
function fileChanged(path: string, size: number): Error {
  return new ConflictError(`The file ${path} changed while it was being sent (it had ${size} bytes when sending began), so the other device was told to drop it. Send it again once nothing writes to it.`, 'lan_payload_changed');
}

/** Sends the file at `path`, or announces that there is none. */
export async function sendPayload(channel: FramedChannel, path: string | undefined, onProgress?: Progress): Promise<PayloadInfo | undefined> {
  if (!path) {
    channel.send({ t: 'payload', none: true });
    return undefined;
  }
  const size = statSync(path).size;
  const name = safeFileName(path);
  channel.send({ t: 'payload', name, size });
  const hash = createHash('sha256');
  let sent = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 128 * 1024 })) {
    const bytes = chunk as Buffer;
    // Never more than announced: the receiver would take the excess for a fault of ours.
    if (sent + bytes.length > size) throw fileChanged(path, size);
    hash.update(bytes);
    await channel.sendData(bytes);
    sent += bytes.length;
    onProgress?.('send', sent, size, name);
  }
  if (sent !== size) throw fileChanged(path, size);
  const sha256 = hash.digest('hex');
  channel.send({ t: 'payload-end', sha256 });
  return { name, size, sha256 };
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** True when anything, a dangling link included, has this name. */
function taken(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Errors of the file system that the person fixes on the folder itself (exit code 2). */
const FOLDER_REFUSES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Why a received file could not be written, in the person's terms: a folder this user may not
 * write to is theirs to fix (`--out`); a full disk or an I/O error is the machine's (exit code 1).
 * Neither is the other device's fault, so neither is a protocol error.
 */
function writeFailure(dir: string, error: NodeJS.ErrnoException): Error {
  if (error.code !== undefined && FOLDER_REFUSES.has(error.code)) {
    return new InvalidRequestError(`The output folder ${dir} cannot be written (${error.message}): choose another with --out.`, undefined, 'lan_bad_payload');
  }
  return new PayloadWriteError(dir, error.code === 'ENOSPC' || error.code === 'EDQUOT' ? 'the disk is full' : error.message, error.code);
}

/**
 * A name in `dir` free for the payload and its `.partial`, with that `.partial` created (0600)
 * and opened. Created exclusively (O_EXCL), so a link or file someone planted at the name in a
 * shared folder is never followed nor written: the payload takes the next name instead.
 */
function createPartial(dir: string, name: string): { path: string; partial: string; fd: number } {
  const dot = name.lastIndexOf('.');
  for (let n = 0; n < 1000; n++) {
    const path = join(dir, n === 0 ? name : dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`);
    const partial = `${path}.partial`;
    if (taken(path) || taken(partial)) continue;
    try {
      return { path, partial, fd: openSync(partial, 'wx', 0o600) };
    } catch (error) {
      // Taken meanwhile: try the next name.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw writeFailure(dir, error as NodeJS.ErrnoException);
    }
  }
  throw new InvalidRequestError(`The output folder ${dir} already holds ${name} and 999 numbered copies of it: choose another with --out.`, undefined, 'lan_bad_payload');
}

/** `link(2)` errors of a file system that has no hard links (FAT, some network shares). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Something, a file or a link, appeared at the payload's name while it was received (it was free
 * when `createPartial` chose it): someone else who may write to the folder, or another program.
 */
function nameTaken(dir: string, path: string): Error {
  return new InvalidRequestError(`Something else was put at ${path} while the file was being received (another program, or someone else who may write to ${dir}). It was left as it is, and the received file was not kept: receive it again, into a folder only you can write (--out).`, undefined, 'lan_bad_payload');
}

/**
 * Gives the complete `.partial` its final name, `path`, only if nothing is there: hard-linked
 * (link(2) fails with EEXIST on any name taken, a link or a dangling link included, and never
 * follows one), then the `.partial` name removed. A rename replaced whatever was put at the name
 * since it was chosen, in a folder others may write to. On a file system without hard links it
 * is copied to a file created with O_EXCL, which refuses a taken name alike.
 */
function placeReceived(partial: string, path: string, dir: string): void {
  try {
    linkSync(partial, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw nameTaken(dir, path);
    if (code === undefined || !NO_HARD_LINKS.has(code)) throw writeFailure(dir, error as NodeJS.ErrnoException);
    try {
      copyFileSync(partial, path, constants.COPYFILE_EXCL);
    } catch (copyError) {
      if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') throw nameTaken(dir, path);
      throw writeFailure(dir, copyError as NodeJS.ErrnoException);
    }
  }
  unlinkQuietly(partial);
}

/** Receives the other side's payload into `outDir` (never outside it). */
export async function receivePayload(
  channel: FramedChannel,
  options: { outDir: string; maxBytes: number; timeoutMs: number; onProgress?: Progress },
): Promise<PayloadInfo | undefined> {
  const header = await channel.expect('payload', options.timeoutMs);
  if (header.none === true) return undefined;
  const size = header.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new ProtocolError('The payload header has no valid size.');
  if (size > options.maxBytes) throw new PayloadOverLimitError(size, options.maxBytes);
  const name = safeFileName(typeof header.name === 'string' ? header.name : '');
  const { path, partial, fd } = createPartial(options.outDir, name);
  receiving.add(partial);
  let out: ReturnType<typeof createWriteStream>;
  try {
    out = createWriteStream(partial, { fd });
  } catch (error) {
    closeSync(fd);
    receiving.delete(partial);
    unlinkQuietly(partial);
    throw error;
  }
  // A failed write (a full disk) must end this transfer, not the process as an unhandled 'error'.
  let writeError: Error | undefined;
  out.on('error', (error) => { writeError = error; });
  const hash = createHash('sha256');
  let received = 0;
  try {
    while (received < size) {
      const frame = await channel.receive(options.timeoutMs);
      if (writeError) throw writeFailure(options.outDir, writeError);
      if (frame.kind !== 'data') {
        // The sender failed half-way (stopped with Ctrl-C, its file unreadable) and said so.
        if (frame.message.t === 'error') throw remoteError(frame.message);
        throw new ProtocolError('The payload ended early.');
      }
      received += frame.data.length;
      if (received > size) throw new ProtocolError('The payload is longer than announced.');
      hash.update(frame.data);
      if (!out.write(frame.data)) {
        await new Promise<void>((resolve, reject) => {
          const onError = (error: Error) => reject(writeFailure(options.outDir, error));
          out.once('error', onError);
          out.once('drain', () => { out.off('error', onError); resolve(); });
        });
      }
      options.onProgress?.('receive', received, size, name);
    }
    const end = await channel.expect('payload-end', options.timeoutMs);
    const sha256 = hash.digest('hex');
    if (end.sha256 !== sha256) throw new ProtocolError('The payload was damaged in transit (checksum mismatch).');
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(writeFailure(options.outDir, error)) : resolve())));
    placeReceived(partial, path, options.outDir);
    return { name, size, sha256, path };
  } catch (error) {
    out.destroy();
    unlinkQuietly(partial);
    throw error;
  } finally {
    receiving.delete(partial);
  }
}
