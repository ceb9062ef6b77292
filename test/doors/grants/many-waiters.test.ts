import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';

/**
 * Many waits at once over real sockets: each listens for the server's shutdown while it waits, and
 * Node warns of a possible leak at an eleventh listener on one signal. Twenty waits are the server
 * at work; an operator shown "MaxListenersExceededWarning" would look for a leak that is not there.
 */
/** Reads `stream`'s body until it holds `text` (an approved grant's stream stays open for the redemption), then closes it. */
async function readUntil(stream: Response, text: string): Promise<string> {
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  let read = '';
  while (!read.includes(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    read += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return read;
}

describe('twenty long-polls and event streams at once', () => {
  const server = useListeningApp();
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning);
  };
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('wait and are all answered by the approval, with no warning of a leak', async () => {
    const created = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"many"}' });
    const grant = (await created.json()) as { id: string; code: string };
    const polls = Array.from({ length: 12 }, () => fetch(`${server.base}/api/v1/grants/${grant.id}?wait=30`).then(async (answer) => ((await answer.json()) as { state: string }).state));
    const streams = await Promise.all(Array.from({ length: 8 }, () => fetch(`${server.base}/api/v1/grants/${grant.id}/events`)));
    await new Promise((resolve) => setTimeout(resolve, 300)); // all twenty arrive and wait
    expect((await fetch(`${server.base}/api/v1/codes/${grant.code}/approve`, { method: 'POST' })).status).toBe(200);
    expect(await Promise.all(polls)).toEqual(Array.from({ length: 12 }, () => 'approved'));
    for (const stream of streams) expect(await readUntil(stream, '"state":"approved"')).toContain('"state":"approved"');
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => `${warning.name}: ${warning.message}`)).toEqual([]);
  });
});
