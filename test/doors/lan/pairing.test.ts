import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeConnectionString, encodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import type { DoctorReport } from '../../../src/doors/lan/doctor.js';
import { FramedChannel } from '../../../src/doors/lan/frames.js';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { dialPinned } from '../../../src/doors/lan/pinned-dial.js';
import { channelBinding, newNonce, secretProof } from '../../../src/doors/lan/secret-proof.js';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';
import { freePort } from '../../helpers/ports.js';

const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

async function offerOnLoopback(overrides: Parameters<typeof loopbackOffer>[0] = {}) {
  const made = await loopbackOffer(overrides);
  offers.push(made.offer);
  return made;
}

/** A hand-driven joiner: pinned TLS, then the protocol one message at a time. */
async function rawJoiner(offer: Offer) {
  const info = decodeConnectionString(offer.connectionString);
  const socket = await dialPinned('127.0.0.1', info.port, info.keySha256, 2000);
  return { socket, channel: new FramedChannel(socket), info };
}

describe('lan offer and join on loopback (real TLS)', () => {
  it('pairs, transfers a file both checked by SHA-256, and stores each side as a trusted peer', async () => {
    const payloadDir = deviceDir('payload');
    const payload = randomBytes(700_000);
    const file = joinPath(payloadDir, 'settings.json');
    writeFileSync(file, payload);
    const offerDir = deviceDir('offer');
    const second = await offerOnLoopback({ payloadPath: file, configDir: offerDir });
    const joinDir = deviceDir('join');
    const joinLogs: string[] = [];
    const progress: number[] = [];
    const joined = await join(second.offer.connectionString, {
      configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false,
      log: (line) => joinLogs.push(line), onProgress: (_d, done) => progress.push(done),
    });
    const offered = await second.offer.result;
    expect(joined.via).toBe('address');
    expect(joined.received?.size).toBe(payload.length);
    expect(readFileSync(joined.received!.path!).equals(payload)).toBe(true);
    expect(joined.received!.sha256).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(progress.at(-1)).toBe(payload.length);
    expect(offered.sent?.size).toBe(payload.length);
    expect(offered.peer.name).toBe('phone');
    expect(joined.peer.name).toBe('laptop');
    // Each side pinned the other's long-lived device key.
    const joinPeers = new TrustedPeerStore(joinDir).list();
    const offerPeers = new TrustedPeerStore(offerDir).list();
    expect(joinPeers.map((p) => p.name)).toEqual(['laptop']);
    expect(offerPeers.map((p) => p.name)).toEqual(['phone']);
    expect(joinPeers[0]!.keySha256).toBe((await loadDeviceIdentity(offerDir)).spkiSha256.toString('base64url'));
    expect(offerPeers[0]!.keySha256).toBe((await loadDeviceIdentity(joinDir)).spkiSha256.toString('base64url'));
    expect(offerPeers[0]!.addresses).toContain('127.0.0.1');
    // The secret appears nowhere but in the string itself.
    const everything = [...second.logs, ...joinLogs, readFileSync(joinPath(joinDir, 'peers.json'), 'utf8'), readFileSync(joinPath(offerDir, 'peers.json'), 'utf8')].join('\n');
    const secret = second.secret;
    expect(everything).not.toContain(secret.toString('base64url'));
    expect(everything).not.toContain(secret.toString('hex'));
    expect(second.logs.join('\n')).toMatch(/Paired with a device at 127.0.0.1/);
  });

  it('refuses a man in the middle that presents another key, and the offer is not harmed', async () => {
    const { offer } = await offerOnLoopback();
    const info = decodeConnectionString(offer.connectionString);
    // The attacker terminates TLS with its own key and relays to the real offer.
    const mitmKey = await createTlsIdentity('mitm', 600);
    let relayed = 0;
    const mitm = tls.createServer({ key: mitmKey.keyPem, cert: mitmKey.certPem }, (client) => {
      relayed++;
      const upstream = tls.connect({ host: '127.0.0.1', port: info.port, rejectUnauthorized: false });
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => mitm.listen(0, '127.0.0.1', () => resolve()));
    const mitmPort = (mitm.address() as { port: number }).port;
    try {
      const redirected = encodeConnectionString({ ...info, port: mitmPort });
      await expect(join(redirected, { configDir: deviceDir('victim'), discovery: false })).rejects.toMatchObject({ code: 'lan_key_mismatch' });
      expect(relayed).toBeLessThanOrEqual(1);
      // The relay's own upstream connection never proves the secret: at most that one failure.
      expect(offer.failures()).toBeLessThanOrEqual(1);
      // The real device still pairs.
      const joined = await join(offer.connectionString, { configDir: deviceDir('real'), discovery: false });
      expect(joined.peer.name).toBe('laptop');
    } finally {
      mitm.close();
    }
  });

  it('refuses a wrong secret, counts it, and stops after N failures', async () => {
    const { offer } = await offerOnLoopback({ maxFailures: 2 });
    const info = decodeConnectionString(offer.connectionString);
    const wrong = encodeConnectionString({ ...info, secret: randomBytes(32) });
    await expect(join(wrong, { configDir: deviceDir('guess1'), discovery: false })).rejects.toMatchObject({ code: 'lan_wrong_secret' });
    await expect.poll(() => offer.failures()).toBe(1);
    await expect(join(wrong, { configDir: deviceDir('guess2'), discovery: false })).rejects.toMatchObject({ code: 'lan_wrong_secret' });
    await expect(offer.result).rejects.toMatchObject({ code: 'lan_too_many_failures' });
    expect(offer.failures()).toBe(2);
    // The listener is closed: even the right secret gets nowhere now.
    await expect(join(offer.connectionString, { configDir: deviceDir('late'), discovery: false, dialTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'lan_peer_unreachable' });
  });

  it('refuses a joiner that sends a wrong proof after seeing a correct offer proof, and counts it', async () => {
    const { offer } = await offerOnLoopback();
    const { channel } = await rawJoiner(offer);
    channel.send({ t: 'hello', v: 1, nonce: newNonce().toString('base64url') });
    await channel.expect('challenge', 2000);
    channel.send({ t: 'proof', proof: randomBytes(32).toString('base64url') });
    await expect(channel.expect('welcome', 2000)).rejects.toMatchObject({ code: 'lan_wrong_secret' });
    expect(offer.failures()).toBe(1);
  });

  it('refuses a replayed proof: a proof computed for one session fails in the next', async () => {
    const { offer, secret } = await offerOnLoopback();
    // Session 1: a correct proof is made (as an eavesdropper would have seen it) but held back.
    const first = await rawJoiner(offer);
    const nonce1 = newNonce();
    first.channel.send({ t: 'hello', v: 1, nonce: nonce1.toString('base64url') });
    const challenge1 = await first.channel.expect('challenge', 2000);
    const recorded = secretProof(secret, 'join', Buffer.from(String(challenge1.nonce), 'base64url'), nonce1, channelBinding(first.socket));
    first.socket.destroy();
    await expect.poll(() => offer.failures()).toBe(1);
    // Session 2: the recorded proof, even with the same joiner nonce, is refused.
    const second = await rawJoiner(offer);
    second.channel.send({ t: 'hello', v: 1, nonce: nonce1.toString('base64url') });
    await second.channel.expect('challenge', 2000);
    second.channel.send({ t: 'proof', proof: recorded.toString('base64url') });
    await expect(second.channel.expect('welcome', 2000)).rejects.toMatchObject({ code: 'lan_wrong_secret' });
    expect(offer.failures()).toBe(2);
  });

  it('lets the first authenticated peer win and refuses a second peer, connected or late', async () => {
    const { offer } = await offerOnLoopback();
    const early = await rawJoiner(offer);
    const joined = await join(offer.connectionString, { configDir: deviceDir('first'), discovery: false });
    expect(joined.peer.name).toBe('laptop');
    // The peer that connected first but had not proven anything is turned away.
    early.channel.send({ t: 'hello', v: 1, nonce: newNonce().toString('base64url') });
    await expect(early.channel.expect('challenge', 2000)).rejects.toMatchObject({ code: expect.stringMatching(/lan_already_paired|lan_protocol_error|lan_connection_lost/) });
    await offer.result;
    await expect(join(offer.connectionString, { configDir: deviceDir('second'), discovery: false, dialTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'lan_peer_unreachable' });
  });

  it('pairs over IPv6 loopback too', async () => {
    const { offer } = await offerOnLoopback({ addresses: ['::1'], host: '::1' });
    const joined = await join(offer.connectionString, { configDir: deviceDir('v6'), discovery: false });
    expect(joined.address).toBe('::1');
  });

  it('dials addresses in our own subnets first: an address outside them is not even tried when one inside answers', async () => {
    const { offer } = await offerOnLoopback({ addresses: ['10.255.255.1', '127.0.0.1'] });
    const lines: string[] = [];
    const joined = await join(offer.connectionString, { configDir: deviceDir('subnet'), discovery: false, dialTimeoutMs: 5000, log: (l) => lines.push(l) });
    expect(joined.address).toBe('127.0.0.1');
    expect(lines.filter((l) => l.startsWith('Dialling'))).toEqual([`Dialling 127.0.0.1:${offer.port}...`]);
  });

  it('answers GET /diagnostics on the same port to loopback callers, without the secret', async () => {
    const { offer, secret } = await offerOnLoopback({ maxFailures: 3 });
    const wrong = encodeConnectionString({ ...decodeConnectionString(offer.connectionString), secret: randomBytes(32) });
    await expect(join(wrong, { configDir: deviceDir('guess'), discovery: false })).rejects.toMatchObject({ code: 'lan_wrong_secret' });
    await expect.poll(() => offer.failures()).toBe(1);
    const started = performance.now();
    // Two callers at once share one doctor run.
    const [response, other] = await Promise.all([fetch(`http://127.0.0.1:${offer.port}/diagnostics`), fetch(`http://127.0.0.1:${offer.port}/diagnostics`)]);
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as { doctor: DoctorReport };
    expect(body).toMatchObject({ state: 'listening', port: offer.port, addresses: ['127.0.0.1'], failures: 1, maxFailures: 3, name: 'laptop' });
    expect(text).not.toContain(secret.toString('base64url'));
    // The doctor's checks, run against this very listener rather than a listener of their own.
    expect(body.doctor.checks.map((c) => c.name)).toEqual(['interfaces', 'own-addresses', 'listener', 'self-reach', 'multicast', 'dns', 'server']);
    const check = (name: string) => body.doctor.checks.find((c) => c.name === name)!;
    expect(check('listener')).toMatchObject({ status: 'ok', details: { port: offer.port, running: true } });
    expect(check('self-reach').details).toMatchObject({ port: offer.port });
    expect(check('multicast')).toMatchObject({ status: 'skip' });
    expect(((await other.json()) as { doctor: DoctorReport }).doctor.startedAt).toBe(body.doctor.startedAt);
    expect(performance.now() - started).toBeLessThan(25_000); // bounded (10 s limit), generous for a loaded machine
    // ?doctor=0: the listener's state alone.
    const quick = await (await fetch(`http://127.0.0.1:${offer.port}/diagnostics?doctor=0`)).json() as Record<string, unknown>;
    expect(quick).toMatchObject({ state: 'listening', port: offer.port });
    expect(quick.doctor).toBeUndefined();
    expect((await fetch(`http://127.0.0.1:${offer.port}/other`)).status).toBe(404);
    // The same port still pairs over TLS.
    expect((await join(offer.connectionString, { configDir: deviceDir('ok'), discovery: false })).peer.name).toBe('laptop');
  });

  it('answers GET /diagnostics only to the person\'s own tools: a web page\'s request (a rebound Host, an Origin, a cross-site fetch) gets the plain 404', async () => {
    const { offer } = await offerOnLoopback({ maxFailures: 3 });
    /** The status line a raw loopback `GET /diagnostics?doctor=0` with `headers` gets. */
    const statusOf = (headers: string): Promise<string> => new Promise((resolve, reject) => {
      const socket = net.connect(offer.port, '127.0.0.1');
      let received = '';
      socket.on('data', (data) => {
        received += String(data);
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(received.split('\r\n')[0]!));
      socket.write(`GET /diagnostics?doctor=0 HTTP/1.1\r\n${headers}\r\n`);
    });
    for (const host of ['127.0.0.1', `127.0.0.1:${offer.port}`, `localhost:${offer.port}`, `[::1]:${offer.port}`]) {
      expect(await statusOf(`Host: ${host}\r\n`), host).toBe('HTTP/1.1 200 OK');
    }
    expect(await statusOf(`Host: 127.0.0.1:${offer.port}\r\nSec-Fetch-Site: none\r\n`)).toBe('HTTP/1.1 200 OK');
    for (const headers of [`Host: rebound.attacker.example:${offer.port}\r\n`, '', `Host: 127.0.0.1:${offer.port}\r\nOrigin: https://attacker.example\r\n`, `Host: 127.0.0.1:${offer.port}\r\nSec-Fetch-Site: cross-site\r\n`]) {
      expect(await statusOf(headers), headers).toBe('HTTP/1.1 404 Not Found');
    }
  });

  it('reads the whole head of GET /diagnostics before judging it: an Origin in a later TCP segment still gets the 404, a head cut after its request line still gets the answer', async () => {
    const { offer } = await offerOnLoopback({ maxFailures: 3 });
    /** The status line a raw loopback request sent as `segments`, 50 ms apart, gets. */
    const statusOf = (segments: string[]): Promise<string> => new Promise((resolve, reject) => {
      const socket = net.connect(offer.port, '127.0.0.1');
      socket.setNoDelay(true);
      let received = '';
      socket.on('data', (data) => {
        received += String(data);
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(received.split('\r\n')[0]!));
      void (async () => {
        for (const segment of segments) {
          socket.write(segment);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
    });
    const host = `Host: 127.0.0.1:${offer.port}\r\n`;
    expect(await statusOf([`GET /diagnostics?doctor=0 HTTP/1.1\r\n${host}`, 'Origin: https://attacker.example\r\n\r\n'])).toBe('HTTP/1.1 404 Not Found');
    expect(await statusOf([`GET /diagnostics?doctor=0 HTTP/1.1\r\n${host}`, 'Sec-Fetch-Site: cross-site\r\n\r\n'])).toBe('HTTP/1.1 404 Not Found');
    expect(await statusOf(['GET /diag', `nostics?doctor=0 HTTP/1.1\r\n`, host, '\r\n'])).toBe('HTTP/1.1 200 OK');
  });

  it('bounds the doctor run of GET /diagnostics: a slow check is cut at the time limit and the checks after it are skipped', async () => {
    // The multicast check listens for 1 s, longer than the 300 ms limit.
    const discovery = { interfaceAddress: '127.0.0.1', port: await freePort() };
    const { offer } = await offerOnLoopback({ diagnosticsTimeoutMs: 300, discovery });
    const body = await (await fetch(`http://127.0.0.1:${offer.port}/diagnostics`)).json() as { state: string; doctor: DoctorReport };
    expect(body.state).toBe('listening');
    const checks = body.doctor.checks;
    expect(checks.map((c) => c.name)).toEqual(['interfaces', 'own-addresses', 'listener', 'self-reach', 'multicast', 'dns', 'server']);
    // Where the limit falls depends on the machine's speed (and load), but no later than the
    // multicast check, which alone outlasts it: the check it cuts says so, and every later one is
    // skipped (for the limit, or, for dns and server, because no server is configured: which of
    // the two is decided by a race with the limit).
    const cutByLimit = (c: DoctorReport['checks'][number]) =>
      (c.status === 'fail' && String(c.error).includes('did not finish within')) || (c.status === 'skip' && c.summary.includes('time limit'));
    const cut = checks.findIndex(cutByLimit);
    expect(cut).toBeGreaterThanOrEqual(0);
    expect(cut).toBeLessThanOrEqual(4);
    expect(checks.slice(cut + 1).map((c) => c.status)).toEqual(checks.slice(cut + 1).map(() => 'skip'));
    // The pairing port is unharmed.
    expect((await join(offer.connectionString, { configDir: deviceDir('after-diag'), discovery: false })).peer.name).toBe('laptop');
  });

  it('survives garbage: plain TCP noise, malformed and oversized frames are refused and counted, then pairing works', async () => {
    const { offer } = await offerOnLoopback({ maxFailures: 5 });
    // Not TLS at all: closed by the first-byte check, not a pairing attempt. The first byte is
    // fixed: a random one was 0x16 (a TLS record) once in 256 runs, answered with a TLS alert. And
    // whatever comes back is read: a socket that never reads what arrived never sees the close
    // behind it, and the test waited for it until it timed out.
    await new Promise<void>((resolve) => {
      const noise = net.connect(offer.port, '127.0.0.1', () => noise.write(Buffer.concat([Buffer.from([0x00]), randomBytes(63)])));
      noise.resume();
      noise.on('close', () => resolve());
      noise.on('error', () => undefined);
    });
    const malformed = await rawJoiner(offer);
    malformed.socket.write(Buffer.concat([Buffer.from([1, 0, 0, 0, 5]), Buffer.from('{oops')]));
    await expect.poll(() => offer.failures()).toBe(1);
    const oversized = await rawJoiner(offer);
    oversized.socket.write(Buffer.from([1, 0xff, 0xff, 0xff, 0xff]));
    await expect.poll(() => offer.failures()).toBe(2);
    const wrongType = await rawJoiner(offer);
    wrongType.channel.send({ t: 'proof', proof: 'AAAA' });
    await expect.poll(() => offer.failures()).toBe(3);
    expect((await join(offer.connectionString, { configDir: deviceDir('after-noise'), discovery: false })).peer.name).toBe('laptop');
  });

  it('does not count a connection closed before its first message (no guess was made), but logs it', async () => {
    const { offer, logs } = await offerOnLoopback({ maxFailures: 1 });
    const silent = await rawJoiner(offer);
    const pending = async () => ((await (await fetch(`http://127.0.0.1:${offer.port}/diagnostics?doctor=0`)).json()) as { pendingHandshakes: number }).pendingHandshakes;
    // Once the offer holds it as a joiner (TLS done on its side too), it leaves without a word.
    await expect.poll(pending).toBe(1);
    silent.socket.destroy();
    await expect.poll(() => logs.some((l) => l.includes('left without trying'))).toBe(true);
    expect(offer.failures()).toBe(0);
    expect((await join(offer.connectionString, { configDir: deviceDir('after-silent'), discovery: false })).peer.name).toBe('laptop');
  });

  it('does not count a connection that stays silent until the handshake timeout either; the timeout frees its slot', async () => {
    const { offer, logs } = await offerOnLoopback({ maxFailures: 1, handshakeTimeoutMs: 300 });
    const silent = await rawJoiner(offer);
    await expect.poll(() => logs.some((l) => l.includes('stayed silent without trying'))).toBe(true);
    expect(offer.failures()).toBe(0);
    silent.socket.destroy();
    expect((await join(offer.connectionString, { configDir: deviceDir('after-timeout'), discovery: false })).peer.name).toBe('laptop');
  });

  it('closes the listener at its timeout', async () => {
    const { offer } = await offerOnLoopback({ timeoutMs: 300 });
    await expect(offer.result).rejects.toMatchObject({ code: 'lan_offer_timeout' });
  });
});
