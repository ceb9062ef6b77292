import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../../src/core/errors.js';
import { useListeningApp } from '../../helpers/app.js';

/**
 * A store failing while an event stream waits: the stream's head is sent already, so no error
 * answer can be given, but the stream must end. It stayed open, silent, with no keep-alive: the
 * client (EventSource, a proxy) waited on it for ever instead of reconnecting.
 */
describe('GET /api/v1/grants/:id/events when the store fails mid-stream', () => {
  const server = useListeningApp();

  it('ends the stream (the client reconnects), frees its wait and logs the failure', async () => {
    const { base, t } = server;
    const grant = (await (await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"store down"}' })).json()) as { id: string };
    const engine = t.app.pairgate.engine;
    const waitForChange = engine.waitForChange.bind(engine);
    engine.waitForChange = (() => Promise.reject(new UnavailableError('A backing store is unreachable. Try again shortly.', 'store_unavailable'))) as typeof engine.waitForChange;
    try {
      const stream = await fetch(`${base}/api/v1/grants/${grant.id}/events`);
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const ended = (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return text;
          text += decoder.decode(value);
        }
      })();
      const outcome = await Promise.race([ended, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 5_000))]);
      expect(outcome).not.toBe('still open');
      expect(text).toMatch(/^id: 1\nevent: state\n/);
      await expect.poll(async () => /^pairgate_waiting_clients 0$/m.test((await t.app.inject('/metrics')).body)).toBe(true);
      expect(t.logs.join('')).toMatch(/store_unavailable|backing store is unreachable/);
      expect(t.logs.join('')).not.toContain(grant.id);
      await reader.cancel().catch(() => undefined);
    } finally {
      engine.waitForChange = waitForChange;
    }
  });
});
