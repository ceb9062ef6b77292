import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { startOffer, type Offer, type OfferOptions } from '../../../src/doors/lan/offer.js';

/** A fresh config dir for one simulated device. */
export function deviceDir(label: string): string {
  return mkdtempSync(joinPath(tmpdir(), `pairgate-lan-${label}-`));
}

/** An offer on loopback with discovery off, collecting its log lines. */
export async function loopbackOffer(overrides: Partial<OfferOptions> = {}): Promise<{ offer: Offer; logs: string[]; dir: string; secret: Buffer }> {
  const logs: string[] = [];
  const dir = overrides.configDir ?? deviceDir('offer');
  const offer = await startOffer({
    configDir: dir,
    deviceName: 'laptop',
    addresses: ['127.0.0.1'],
    host: '127.0.0.1',
    discovery: false,
    timeoutMs: 20_000,
    outDir: dir,
    log: (line) => logs.push(line),
    ...overrides,
  });
  return { offer, logs, dir, secret: decodeConnectionString(offer.connectionString).secret };
}
