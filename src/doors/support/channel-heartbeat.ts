import type { WebSocket } from 'ws';

/**
 * Pings `socket` every `intervalMs` and cuts it off (terminate) when the previous ping got no pong.
 *
 * A peer that vanished without closing (a laptop put to sleep, a network changed, a NAT that forgot
 * the connection) leaves its socket open here until TCP notices, which on a quiet channel is never.
 * Such an agent socket kept the session's one agent place (its lease renewed, the room's agent
 * "open"): the person's page or `pairgate join` coming back was refused `agent_already_connected`,
 * and the supporter saw the agent connected, until the session expired; a supporter socket kept its
 * presence mark renewed, so the person was never told the supporter left. Browsers and the `ws`
 * package answer pings on their own.
 *
 * A socket paused by its MessagePacer reads no frame, its pongs included: it is not judged while
 * paused (its peer is sending, so it is there).
 */
export function keepAlive(socket: WebSocket, intervalMs: number): void {
  let answered = true;
  socket.on('pong', () => {
    answered = true;
  });
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.isPaused) {
      answered = true;
      return;
    }
    if (!answered) {
      socket.terminate();
      return;
    }
    answered = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  socket.on('close', () => clearInterval(timer));
}
