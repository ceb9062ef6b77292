import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { remoteError } from '../../../src/doors/lan/frames.js';
import { PayloadWriteError, PeerTimeoutError, TrustNotSavedError } from '../../../src/doors/lan/lan-errors.js';
import { noticeForPeer } from '../../../src/doors/lan/peer-failure.js';
import { receivePayload, sendPayload } from '../../../src/doors/lan/payload.js';
import { reportCliError } from '../../../src/cli/output.js';
import { framedPair } from './lan-fixtures.js';

/**
 * A device that fails on its side in the middle of an exchange (a full disk, a timeout, Ctrl-C)
 * tells the other, which says so (`lan_peer_failed`, exit 1) instead of "protocol error" (exit 2,
 * a bug or an attacker). The other device's words reach a terminal only cleaned and cut short.
 */

const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  vi.restoreAllMocks();
});

/** Two framed ends of a real loopback TCP connection. */
const pair = () => framedPair(sockets);

/** What `pairgate` prints for `error`, and its exit code. */
function reported(error: unknown): { line: string; exit: number } {
  const lines: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((line: string) => { lines.push(line); });
  const exit = reportCliError(error);
  return { line: lines.join('\n'), exit };
}

describe('lan: the other device failed on its side', () => {
  it('its full disk: lan_peer_failed, exit 1, saying what failed there and what to do', () => {
    const notice = noticeForPeer(new PayloadWriteError('/home/ann/Downloads', 'the disk is full', 'ENOSPC'));
    // What is sent names the kind of problem, never the folder.
    expect(notice).toEqual({ code: 'lan_write_failed', message: 'it could not save the file it was receiving: its disk is full' });
    const { line, exit } = reported(remoteError({ t: 'error', ...notice }));
    expect(line).toBe('pairgate: The other device stopped before the exchange finished: it could not save the file it was receiving: its disk is full (lan_write_failed there). '
      + 'Nothing went wrong on this device: free some space there, or give it another folder with --out, then try again. [lan_peer_failed]');
    expect(exit).toBe(1);
  });

  it('its timeout, and Ctrl-C there: each said, exit 1', () => {
    expect(reported(remoteError({ t: 'error', ...noticeForPeer(new PeerTimeoutError(30)) }))).toEqual({
      line: 'pairgate: The other device stopped before the exchange finished: it heard nothing from this device for 30 s and gave up (lan_timeout there). '
        + 'To fix it: check the network between the two devices, and that this one was not paused or asleep, then try again. [lan_peer_failed]',
      exit: 1,
    });
    vi.restoreAllMocks();
    expect(reported(remoteError({ t: 'error', code: 'lan_interrupted', message: 'it was stopped (Ctrl-C) before it finished' })).line)
      .toContain('it was stopped (Ctrl-C) before it finished (lan_interrupted there). Nothing went wrong on this device: try again when pairgate runs there again.');
  });

  it('a refusal of what this side sent keeps its own code (a wrong secret, a malformed message)', () => {
    expect(remoteError({ t: 'error', code: 'lan_wrong_secret', message: 'x' })).toMatchObject({ code: 'lan_wrong_secret' });
    expect(remoteError({ t: 'error', code: 'lan_protocol_error', message: 'The payload ended early.' })).toMatchObject({ code: 'lan_protocol_error', message: 'The other device refused: The payload ended early.' });
  });

  it('its words lose escape sequences, controls and line breaks, and are cut short; a strange code is not repeated', () => {
    const hostile = `\u001b]0;pwned\u0007\u001b[2J\u001b[31mdisk\u009b1;1H on fire\u001b[0m\nroot# \u202eexe.txt ${'x'.repeat(5000)}`;
    const error = remoteError({ t: 'error', code: '\u001b[2Jlan_evil', message: hostile });
    expect(error).toMatchObject({ code: 'lan_peer_failed', peerCode: 'unknown' });
    expect(error.message).toMatch(/^The other device stopped before the exchange finished: disk on fire root# exe\.txt x+ \(unknown there\)\. Nothing went wrong on this device: see what pairgate says on the other device, fix that, then try again\.$/);
    // eslint-disable-next-line no-control-regex
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]|pwned|\[2J|\[31m/);
    expect(error.message.length).toBeLessThan(400);
    expect(remoteError({ t: 'error', code: 'lan_write_failed' }).message).toContain(': it gave no reason (lan_write_failed there)');
  });

  it('a sender stops at once when the receiver says it failed, and says why, also once the connection closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-peer-failure-'));
    const file = join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(64 * 1024 * 1024, 1));
    const [sender, receiver] = await pair();
    const sending = sendPayload(sender, file);
    sending.catch(() => undefined);
    await receiver.expect('payload', 2000);
    // The receiver reads nothing more (its disk is full), says so and closes.
    receiver.socket.pause();
    receiver.refuse('lan_write_failed', 'it could not save the file it was receiving: its disk is full');
    receiver.socket.destroy();
    await expect(sending).rejects.toMatchObject({ code: 'lan_peer_failed', peerCode: 'lan_write_failed' });
    // Whatever the sender reads next gets the same reason, not "connection lost": the word itself,
    // then, the connection closed, still that word.
    await expect(sender.expect('identity', 1000)).rejects.toMatchObject({ code: 'lan_peer_failed' });
    await expect(sender.receive(1000)).rejects.toMatchObject({ code: 'lan_peer_failed' });
  });

  it('a sender stopped half-way through a file (Ctrl-C there): the receiver says so, not "the payload ended early", and keeps no .partial', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pairgate-peer-failure-out-'));
    const [sender, receiver] = await pair();
    sender.send({ t: 'payload', name: 'movie.mkv', size: 1_000_000 });
    await sender.sendData(Buffer.alloc(300_000, 1));
    sender.tell({ code: 'lan_interrupted', message: 'it was stopped (Ctrl-C) before it finished' });
    const error = await receivePayload(receiver, { outDir: out, maxBytes: 2_000_000, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'lan_peer_failed', peerCode: 'lan_interrupted' });
    expect(readdirSync(out)).toEqual([]);
  });

  it('a file that grows while it is sent: the sender says so (lan_payload_changed, exit 2), the receiver that the file changed there (lan_peer_failed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-peer-failure-'));
    const file = join(dir, 'log.txt');
    writeFileSync(file, Buffer.alloc(100_000, 1));
    const out = mkdtempSync(join(tmpdir(), 'pairgate-peer-failure-out-'));
    const [sender, receiver] = await pair();
    const sending = sendPayload(sender, file);
    // Its size is read as sending starts; the file grows before it is read.
    appendFileSync(file, Buffer.alloc(50_000, 2));
    const sendError = await sending.catch((e: unknown) => e);
    expect(sendError).toMatchObject({ code: 'lan_payload_changed', message: `The file ${file} changed while it was being sent (it had 100000 bytes when sending began), so the other device was told to drop it. Send it again once nothing writes to it.` });
    expect(reported(sendError).exit).toBe(2);
    sender.endWith(sendError);
    const error = await receivePayload(receiver, { outDir: out, maxBytes: 1_000_000, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'lan_peer_failed', peerCode: 'lan_payload_changed' });
    expect((error as Error).message).toContain('the file it was sending changed on its disk in the middle (lan_payload_changed there). Nothing went wrong on this device: try again once nothing writes to that file there.');
    expect(readdirSync(out)).toEqual([]);
  });

  it('endWith tells the other side what failed here, and answers nothing to the other side\'s own word', async () => {
    const [a, b] = await pair();
    a.endWith(new PayloadWriteError('/srv/x', 'the disk is full', 'ENOSPC'));
    await expect(b.expect('identity', 2000)).rejects.toMatchObject({ code: 'lan_peer_failed', peerCode: 'lan_write_failed' });
    const [c, d] = await pair();
    const theirs = remoteError({ t: 'error', code: 'lan_timeout', message: 'it heard nothing' });
    c.endWith(theirs);
    const next = await d.receive(2000).catch((error: unknown) => error);
    expect(next).toMatchObject({ code: 'lan_connection_lost' });
    // Nor a second word after the trust commit's own (it told the other side already).
    const [e, f] = await pair();
    e.endWith(new TrustNotSavedError('This device could not save "phone" as a trusted peer.'));
    expect(await f.receive(2000).catch((error: unknown) => error)).toMatchObject({ code: 'lan_connection_lost' });
  });
});
