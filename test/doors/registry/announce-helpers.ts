import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { signAnnouncement } from '../../../src/sdk/registry.js';
import { httpFrom, type HttpAnswer } from '../../helpers/http-from.js';

/** `count` new box identities named `<tag><i>`, in a temporary folder. */
export async function newBoxes(count: number, tag: string): Promise<BoxIdentity[]> {
  const folder = mkdtempSync(join(tmpdir(), 'pairgate-boxes-'));
  return Promise.all(Array.from({ length: count }, (_, i) => initBoxIdentity(join(folder, `${tag}${i}`), { name: `${tag}${i}` })));
}

/**
 * A signed announcement of `identity` to the registry at `base`, made from `address`: sent from
 * 127.0.0.1 with `X-Forwarded-For: address`, which a server with `PAIRGATE_TRUST_PROXY=127.0.0.1` believes.
 */
export async function announceFrom(base: string, address: string, identity: BoxIdentity): Promise<HttpAnswer> {
  const raw = JSON.stringify({ client: identity.fingerprint, message: 'hi' });
  const authorization = await signAnnouncement(identity, raw, { now: Date.now() });
  return httpFrom('127.0.0.1', `${base}/register`, { method: 'POST', body: raw, headers: { authorization, 'x-forwarded-for': address } });
}

/** The fingerprints `/ping` lists to `address` (through the trusted proxy, as `announceFrom`). */
export async function listedFor(base: string, address: string): Promise<string[]> {
  const answer = await httpFrom('127.0.0.1', `${base}/ping`, { headers: { 'x-forwarded-for': address } });
  return (answer.json as { client: string }[]).map((box) => box.client);
}
