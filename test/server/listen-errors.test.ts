import { createServer, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PairgateError } from '../../src/core/errors.js';
import { allDoors } from '../../src/doors/index.js';
import { explainListenError, HTTP_LISTENER } from '../../src/server/listen-errors.js';
import { startServer } from '../../src/server/start.js';

/** Node's error of a listener that failed, as `listen` and `bind` throw it. */
function systemError(code: string, syscall: string, address: string, port: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}: ${address}:${port}`), { code, syscall, address, port });
}

const DNS = { host: '0.0.0.0', port: 53, purpose: 'DNS (UDP and TCP)', portSetting: 'PAIRGATE_DNS_PORT', hostSetting: 'PAIRGATE_DNS_HOST' };

describe('a listener that cannot start is told in words, with the setting to change', () => {
  it('a port in use: another program, stop it or choose another port with its setting', () => {
    const error = explainListenError(systemError('EADDRINUSE', 'listen', '127.0.0.1', 8080)) as PairgateError;
    expect(error).toBeInstanceOf(PairgateError);
    expect(error.code).toBe('address_in_use');
    expect(error.status).toBe(400);
    expect(error.message).toBe('cannot listen on 127.0.0.1:8080: another program already does (another pairgate?). Stop it, or choose another port with serve --port or PAIRGATE_PORT (0 picks a free one).');
  });

  it('DNS port 53 in use names what often holds it, and the DNS key', () => {
    const error = explainListenError(systemError('EADDRINUSE', 'bind', '0.0.0.0', 53), DNS) as PairgateError;
    expect(error.message).toBe('cannot listen on 0.0.0.0:53 for DNS (UDP and TCP): another program already does (another pairgate? On port 53, often a DNS server of this machine such as systemd-resolved.). Stop it, or choose another port with PAIRGATE_DNS_PORT (0 picks a free one).');
  });

  it('a port below 1024 without privileges: what it needs, and both ways out', () => {
    const error = explainListenError(systemError('EACCES', 'bind', '0.0.0.0', 53), DNS) as PairgateError;
    expect(error.code).toBe('listen_not_permitted');
    expect(error.message).toBe('cannot listen on 0.0.0.0:53 for DNS (UDP and TCP): ports below 1024 need root or the CAP_NET_BIND_SERVICE capability, which this process lacks. Choose a port from 1024 up with PAIRGATE_DNS_PORT, or give the service the capability (AmbientCapabilities=CAP_NET_BIND_SERVICE in its systemd unit, as contrib/systemd/pairgate.service shows).');
  });

  it('a refused port from 1024 up is not blamed on privileges', () => {
    const error = explainListenError(systemError('EACCES', 'listen', '127.0.0.1', 8080)) as PairgateError;
    expect(error.code).toBe('listen_not_permitted');
    expect(error.message).not.toMatch(/below 1024/);
    expect(error.message).toMatch(/choose another port with serve --port or PAIRGATE_PORT\.$/i);
  });

  it('an address not of this machine, in brackets when IPv6', () => {
    const error = explainListenError(systemError('EADDRNOTAVAIL', 'listen', '2001:db8::1', 8080)) as PairgateError;
    expect(error.code).toBe('address_not_available');
    expect(error.message).toBe('cannot listen on [2001:db8::1]:8080: 2001:db8::1 is not an address of this machine. Give one of its addresses with serve --host or PAIRGATE_HOST (0.0.0.0 for all of them).');
  });

  it('a host name that cannot be looked up, when the caller says the listener failed', () => {
    const lookup = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nowhere.invalid' });
    expect(explainListenError(lookup)).toBe(lookup);
    const error = explainListenError(lookup, { ...HTTP_LISTENER, host: 'nowhere.invalid', port: 8080 }) as PairgateError;
    expect(error.message).toBe('cannot listen on nowhere.invalid:8080: nowhere.invalid is not a name this machine can look up. Give one of its addresses with serve --host or PAIRGATE_HOST (0.0.0.0 for all of them).');
  });

  it('a host name the look-up refuses outright, or cannot look up now, says so; a long one is cut', () => {
    const long = 'a'.repeat(300);
    const invalid = Object.assign(new Error(`getaddrinfo EINVAL ${long}`), { code: 'EINVAL', syscall: 'getaddrinfo', hostname: long });
    const error = explainListenError(invalid, { ...HTTP_LISTENER, host: long, port: 8080 }) as PairgateError;
    expect(error.code).toBe('address_not_available');
    expect(error.message).toBe(`cannot listen on ${'a'.repeat(77)}...:8080: ${'a'.repeat(77)}... is not an address or a host name (each part of a name has at most 63 characters). Give one of this machine's addresses with serve --host or PAIRGATE_HOST (0.0.0.0 for all of them).`);
    const later = Object.assign(new Error('getaddrinfo EAI_AGAIN pair.example.com'), { code: 'EAI_AGAIN', syscall: 'getaddrinfo', hostname: 'pair.example.com' });
    expect((explainListenError(later, { ...HTTP_LISTENER, host: 'pair.example.com', port: 8080 }) as PairgateError).message).toBe('cannot listen on pair.example.com:8080: the name servers did not answer a look-up of pair.example.com. Try again, or give one of this machine\'s addresses with serve --host or PAIRGATE_HOST (0.0.0.0 for all of them), which needs no look-up.');
  });

  it('leaves alone what is not a listen failure (a data folder EACCES), and what is explained already', () => {
    const folder = Object.assign(new Error('EACCES: permission denied, mkdir'), { code: 'EACCES', syscall: 'mkdir' });
    expect(explainListenError(folder)).toBe(folder);
    const explained = explainListenError(systemError('EADDRINUSE', 'listen', '127.0.0.1', 8080));
    expect(explainListenError(explained)).toBe(explained);
    expect(explainListenError('text')).toBe('text');
  });
});

describe('startServer', () => {
  let holder: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => holder?.close(resolve) ?? resolve(undefined));
  });

  it('rejects a taken port with the explained error, for every caller (not only serve)', async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder!.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const env = { PAIRGATE_PORT: String(port), PAIRGATE_HOST: '127.0.0.1', PAIRGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'pairgate-listen-')), PAIRGATE_LOG_LEVEL: 'silent' };
    await expect(startServer({ env }, allDoors.filter((door) => door.name === 'grants'))).rejects.toMatchObject({
      code: 'address_in_use',
      message: `cannot listen on 127.0.0.1:${port}: another program already does (another pairgate?). Stop it, or choose another port with serve --port or PAIRGATE_PORT (0 picks a free one).`,
    });
  });
});
