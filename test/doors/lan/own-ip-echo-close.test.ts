import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { OWN_IP_PROBE, startEchoListener } from '../../../src/doors/lan/own-ip.js';

/**
 * The doctor's throwaway echo listener (own-IP discovery without a pairing listener) listens on all
 * addresses for a moment. Anyone who reaches it there can send a probe line, read the answer and
 * then trickle a byte now and then: each byte restarted the 2 s idle timeout, and `close()` (which
 * waited for every connection to end) never resolved, so the doctor's check ran into its time limit
 * and the listener kept `pairgate doctor` from exiting. Closing it now drops what is still open.
 */
describe('own-IP echo listener', () => {
  it('closes at once even while a caller keeps its connection busy', async () => {
    const echo = await startEchoListener();
    // Half-open allowed: the caller reads the answer's end and goes on sending, as a hostile one does.
    const socket = net.connect({ host: '127.0.0.1', port: echo.port, allowHalfOpen: true });
    socket.on('error', () => undefined);
    const answered = new Promise<string>((resolve) => socket.once('data', (data) => resolve(data.toString('latin1'))));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`${OWN_IP_PROBE}abc\n`);
    expect(await answered).toBe('pairgate-own-ip:abc\n');
    const trickle = setInterval(() => { if (!socket.destroyed) socket.write('x'); }, 200);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = Date.now();
      const closed = await Promise.race([
        echo.close().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 4000)),
      ]);
      expect(closed).toBe(true);
      expect(Date.now() - started).toBeLessThan(2000);
      await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  }, 15_000);
});
