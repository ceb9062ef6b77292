import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { controlFrame as frame, deviceDir, loopbackOffer, provenJoiner } from './lan-fixtures.js';

/**
 * Before the other end has proven the secret or code, it may be anyone on the network: its error
 * messages are shown by their code alone (a code pairgate knows; any other is a protocol error),
 * never its free words, on the joiner's last line or in the offer's log. Once it has proven them,
 * its words are shown as before. And an offer whose joiner leaves mid-message says so in its own
 * terms, not with the advice meant for a joiner (check the address and port).
 */

const WORDS = '\u001b]0;pwned\u0007 go run rm -rf ~ \u202e gnp.exe';


const servers: tls.Server[] = [];
const offers: Offer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) server.close();
  await Promise.all(offers.splice(0).map((offer) => offer.close()));
});

/**
 * A fake offer holding the key its string pins (so the joiner's TLS pin passes) but not the
 * secret: it answers the hello with `reply` and closes. Resolves with its connection string.
 */
async function fakeOffer(reply: Record<string, unknown>): Promise<string> {
  const identity = await createTlsIdentity('impostor', 3600);
  const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem }, (socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(frame(reply)));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return encodeConnectionString({ addresses: ['127.0.0.1'], port, keySha256: identity.spkiSha256, secret: randomBytes(32), deviceId: randomBytes(16).toString('base64url'), name: 'laptop' });
}

/** Joins the fake offer answering `reply`; resolves with the error the join ends with. */
async function joinFake(reply: Record<string, unknown>): Promise<Error & { code: string }> {
  const string = await fakeOffer(reply);
  return join(string, { configDir: deviceDir('unproven'), discovery: false }).then(
    () => { throw new Error('joined a fake offer'); },
    (error: unknown) => error as Error & { code: string },
  );
}

describe('lan join: an end that has not proven the secret', () => {
  it('a refusal is shown by its code, never with its words', async () => {
    for (const code of ['lan_wrong_secret', 'lan_key_mismatch', 'lan_channel_binding_mismatch', 'lan_protocol_error']) {
      const error = await joinFake({ t: 'error', code, message: WORDS });
      expect(error.code).toBe(code);
      expect(error.message).toBe(`The other end refused (${code}) before it proved the secret or code, so its own words are not shown.`);
    }
    const closed = await joinFake({ t: 'error', code: 'lan_offer_timeout', message: WORDS });
    expect(closed).toMatchObject({ code: 'lan_offer_timeout', message: 'The other device\'s offer stopped: no device paired in time (lan_offer_timeout). Ask for a new offer there.' });
  });

  it('a failure of the other device is shown by its code and this side\'s advice, without its sentence', async () => {
    const error = await joinFake({ t: 'error', code: 'lan_interrupted', message: WORDS });
    expect(error).toMatchObject({ code: 'lan_peer_failed' });
    expect(error.message).toBe('The other device stopped before the exchange finished: lan_interrupted there (its own words are not shown before it proves the secret or code). '
      + 'Nothing went wrong on this device: try again when pairgate runs there again.');
  });

  it('a code pairgate does not know is a protocol error, and is not repeated unless it has the shape of one', async () => {
    const unknown = await joinFake({ t: 'error', code: 'lan_evil', message: WORDS });
    expect(unknown).toMatchObject({ code: 'lan_protocol_error' });
    expect(unknown.message).toContain('The other end refused with an error code this pairgate does not know (lan_evil), before it proved the secret or code.');
    const shapeless = await joinFake({ t: 'error', code: 'lan_evil\u001b[31m', message: WORDS });
    expect(shapeless).toMatchObject({ code: 'lan_protocol_error' });
    expect(shapeless.message).toContain('The other end refused with an error code this pairgate does not know, before it proved the secret or code.');
    // eslint-disable-next-line no-control-regex -- the escape byte sent must not come back
    for (const error of [unknown, shapeless]) expect(error.message).not.toMatch(/pwned|rm -rf|gnp|\u001b|\u202e/);
  });
});

describe('lan offer: a joiner that has not proven the secret', () => {
  /** Connects to the offer, sends `bytes`, closes, and resolves with the offer's log line about it. */
  async function sendToOffer(bytes: Buffer): Promise<string> {
    const made = await loopbackOffer();
    offers.push(made.offer);
    const socket = tls.connect({ host: '127.0.0.1', port: made.offer.port, rejectUnauthorized: false });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    socket.end(bytes);
    await expect.poll(() => made.logs.find((line) => line.startsWith('Refused'))).toBeDefined();
    return made.logs.find((line) => line.startsWith('Refused'))!;
  }

  it('an error message as its first word: the log names its code, not its words', async () => {
    const line = await sendToOffer(frame({ t: 'error', code: 'lan_key_mismatch', message: WORDS }));
    expect(line).toBe('Refused 127.0.0.1: The other end refused (lan_key_mismatch) before it proved the secret or code, so its own words are not shown. (failed attempt 1 of 5).');
  });

  it('part of a message, then gone: said as what happened here, without advice to check the address and port', async () => {
    const whole = frame({ t: 'hello', v: 1, nonce: randomBytes(32).toString('base64url') });
    const line = await sendToOffer(whole.subarray(0, 12));
    expect(line).toBe('Refused 127.0.0.1: A device connected, sent part of a message and left. (failed attempt 1 of 5).');
    expect(line).not.toMatch(/address and port|pairgate lan endpoint/);
  });

  it('once the secret is proven, its words are shown as before', async () => {
    const made = await loopbackOffer();
    offers.push(made.offer);
    const { channel } = await provenJoiner(made.offer);
    channel.send({ t: 'error', code: 'lan_write_failed', message: 'it could not save the file it was receiving: its disk is full' });
    const error = await made.offer.result.then(() => new Error('paired'), (failure: unknown) => failure as Error);
    expect(error).toMatchObject({ code: 'lan_peer_failed' });
    expect(error.message).toContain('The other device stopped before the exchange finished: it could not save the file it was receiving: its disk is full (lan_write_failed there).');
    channel.close();
  });
});
