import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { nameProblem } from './connection-string.js';
import { readJsonFile, writeJsonFile } from './json-file.js';
import { certificatePin, createTlsIdentity, type TlsIdentity } from './tls-identity.js';

/**
 * The long-lived identity of this device: an id, a name and a TLS key with a self-signed
 * certificate. Pairing (whose listener uses a fresh key per session) tells the peer this key's
 * pin; later `lan connect` sessions use it for mutual TLS.
 */
export interface DeviceIdentity extends TlsIdentity {
  deviceId: string;
  name: string;
}

const FILE = 'device.json';
const VALID_SECONDS = 10 * 365 * 24 * 3600;

/** A name for this device from the host name, made safe for the connection string. */
export function defaultDeviceName(): string {
  const name = hostname().replace(/[^\p{L}\p{N} ._-]/gu, '').slice(0, 48);
  return name || 'pairgate device';
}

/** Loads the identity from `configDir`, making it on first use. `name` renames the device. */
export async function loadDeviceIdentity(configDir: string, name?: string): Promise<DeviceIdentity> {
  if (name !== undefined) {
    const problem = nameProblem(name);
    if (problem) throw new RangeError(problem);
  }
  const path = join(configDir, FILE);
  const stored = readJsonFile(path) as Partial<DeviceIdentity & { spkiSha256: string }> | undefined;
  if (stored?.deviceId && stored.keyPem && stored.certPem && stored.name) {
    const identity: DeviceIdentity = {
      deviceId: stored.deviceId,
      name: stored.name,
      keyPem: stored.keyPem,
      certPem: stored.certPem,
      spkiSha256: certificatePin(stored.certPem),
    };
    if (name !== undefined && name !== identity.name) {
      identity.name = name;
      save(path, identity);
    }
    return identity;
  }
  const deviceName = name ?? defaultDeviceName();
  const tls = await createTlsIdentity(deviceName, VALID_SECONDS);
  const identity: DeviceIdentity = { deviceId: randomBytes(16).toString('base64url'), name: deviceName, ...tls };
  save(path, identity);
  return identity;
}

function save(path: string, identity: DeviceIdentity): void {
  writeJsonFile(path, { deviceId: identity.deviceId, name: identity.name, keyPem: identity.keyPem, certPem: identity.certPem });
}
