import type { WebSocket } from 'ws';
import { NotFoundError, UnavailableError } from '../../core/errors.js';
import { IllegalTransitionError } from '../../core/grant-machine.js';
import { constantTimeEqual, hashToken } from '../../core/ids.js';
import { MISSED_CHANGES } from '../../store/ports.js';
import { holdsLoneSurrogate } from '../../server/json-body.js';
import type { DoorContext } from '../door.js';
import { AgentLeases } from './agent-lease.js';
import { keepAlive } from './channel-heartbeat.js';
import { MAX_BUFFERED, MAX_REPORT, MAX_TEXT } from './channel-limits.js';
import { MessagePacer, type PacerLimits } from './message-pacer.js';
import { SessionIdLock, type IdLockTimings } from './session-id-lock.js';
import { DeliveredSeqs, LOG_KEEP, logIdOf, SessionLog } from './session-log.js';
import type { SessionMemories } from './session-memory.js';
import { SupporterPresence } from './supporter-presence.js';
import { sessionState, type SessionGrant, type SessionRequest, type SessionResult } from './session-model.js';

/** Close codes of the session channel (4000-4999 are the application's). */
export const CLOSE = { ended: 4000, unauthorized: 4001, helloTimeout: 4008, duplicate: 4009, badMessage: 4400, tooManySupporters: 4429 } as const;

/** Machine code (and close reason) of a supporter socket beyond the session's cap (CLOSE.tooManySupporters). */
export const SUPPORTERS_CAP_CODE = 'too_many_supporters';

interface Room {
  /** The session this room is for (incarnationOf): another made later under its id has a room of its own. */
  incarnation: string;
  agent: WebSocket | undefined;
  supporters: Set<WebSocket>;
  expiry: NodeJS.Timeout | undefined;
  /** The numbers of the session's logged messages handed on here (see SessionLog). */
  delivered: DeliveredSeqs;
  /**
   * Messages for the agent held back while it is sent the history it asked for: sent after the
   * history, those it already holds left out, so it gets every message once and in order.
   */
  agentBacklog: { seq: number | undefined; payload: Record<string, unknown> }[] | undefined;
  /**
   * The numbers of the logged messages the agent socket got in its history: one of them arriving
   * later on the bus (another node's NOTIFY can come after its log entry is readable) is not sent
   * again. At most LOG_KEEP numbers, for the life of that socket.
   */
  agentHistorySeqs: Set<number> | undefined;
  /**
   * Per supporter socket that asked for the history: the messages for supporters held back while
   * it is sent, then the numbers it held (as agentBacklog and agentHistorySeqs for the agent).
   */
  supporterBacklogs: Map<WebSocket, { seq: number | undefined; payload: Record<string, unknown> }[]>;
  supporterHistorySeqs: WeakMap<WebSocket, Set<number>>;
  /**
   * Whether the agent socket here was last told that a supporter is attached (in its welcome, then
   * by `peer_joined` / `peer_left`); undefined without an agent. Checks run one after the other
   * (presenceCheck), so two quick changes are told in the order they happened.
   */
  agentToldSupporterAttached: boolean | undefined;
  presenceCheck: Promise<void>;
  /**
   * While an agent is here: reads the supporters' marks again every third of their lifetime, so
   * marks that lapsed (their node died, and no `supporters-changed` will ever come) are told to the
   * person as `peer_left`.
   */
  presenceWatch: NodeJS.Timeout | undefined;
  /**
   * Whether the supporters here last saw the agent connected: a change is told as `peer_joined` /
   * `peer_left`. Undefined until the agent first connected (or a supporter attached here found it
   * gone after it had). Kept while no supporter is attached here too (the room holding the agent),
   * so one attaching later is told the next change; a room made afresh for a supporter reads it from
   * the session (acceptSupporter).
   */
  supportersSawAgentConnected: boolean | undefined;
  /**
   * Agent hellos under way that will put their socket here: the room is kept for them while it
   * holds no socket yet (see releaseIfIdle).
   */
  joining: number;
  /** Set when the session's end closed the room (closeRoom), not when it was let go for holding no socket. */
  ended: boolean;
  /** Stops listening to the session's topic on the bus and to its grant's changes. */
  stop: () => void;
}

/** What travels on a session's bus topic between the nodes holding its sockets. */
type HubMessage = LoggedHubMessage | { kind: 'ended'; reason: EndReason; session?: string } | { kind: 'supporters-changed' };

/** A message between the sides: logged and numbered (`seq`) before it is broadcast. */
type LoggedHubMessage = { kind: 'to-supporters' | 'to-agent'; payload: Record<string, unknown>; seq?: number };

type EndReason = 'supporter' | 'agent' | 'expired' | 'deleted';

/**
 * Which session, of those made one after the other under one id, `session` is. A session's id is
 * its supporter's to choose, and deleting it and creating it again is how one starts over: the id
 * then names another session, and a socket let in for the first (its agent link, its credential or
 * its own login checked) must not be joined to the second. Each creation draws its mesh identity
 * (384 random bits) afresh and nothing changes it afterwards.
 */
function incarnationOf(session: SessionGrant): string {
  return session.request.meshIdHex;
}

/** Whether `found` (read again by id) is still `session`, not another made under its id since. */
function sameSession(found: SessionGrant, session: SessionGrant): boolean {
  return found.id === session.id && incarnationOf(found) === incarnationOf(session);
}

/** Thrown inside a compare-and-set that finds another session under the id (see sameSession). */
class SessionReplaced extends Error {}

/** Characters of a long message written at once (sendLong): 64 Ki, at most 384 KiB of UTF-8. */
const FRAGMENT_CHARS = 64 * 1024;

/**
 * How long a history (sendLong) may take to leave the server before its socket is cut off. A peer
 * that takes nothing stalls it, holding up to about 5 MB here, and the pings do not always catch
 * such a peer: a socket the MessagePacer paused (its peer sends faster than the pace) is not judged
 * by them, so one that keeps sending and reads nothing kept its history, and the socket, for ever.
 * A minute lets the largest history (about 5 MB) through at 85 KB/s, slower than any link a live
 * chat is held over (a usual history is a few KB), and holds a stalled one at most that long.
 */
export const HISTORY_DEADLINE_MS = 60_000;

/** The sockets being sent a long message: what is sent to them meanwhile (send), and a close asked for (close). */
const longMessages = new WeakMap<WebSocket, { held: string[]; heldBytes: number; close: { code: number; reason: string } | undefined }>();

/**
 * Sends `message` to `socket`, and cuts the socket off when it holds more than MAX_BUFFERED bytes
 * not yet taken by its peer: a peer that reads nothing (a stalled or suspended client, or one
 * doing it on purpose) would otherwise make the server keep everything sent to it, for the
 * session's life. It can reconnect and read on. While the socket is sent a long message
 * (sendLong), what is sent to it waits after that message, at most MAX_BUFFERED bytes of it.
 */
function send(socket: WebSocket | undefined, message: unknown): void {
  if (!socket || socket.readyState !== 1) return;
  const text = JSON.stringify(message);
  const long = longMessages.get(socket);
  if (long) {
    long.held.push(text);
    long.heldBytes += Buffer.byteLength(text);
    if (long.heldBytes > MAX_BUFFERED) socket.terminate();
    return;
  }
  socket.send(text);
  if (socket.bufferedAmount > MAX_BUFFERED) socket.terminate();
}

/**
 * Closes `socket` with `code`: once the long message it is being sent (sendLong) and what waits
 * after it are written, so an `ended` sent just before is not lost to a history still under way.
 */
function close(socket: WebSocket, code: number, reason: string): void {
  const long = longMessages.get(socket);
  if (long) long.close = { code, reason };
  else socket.close(code, reason);
}

/**
 * Sends `message` as one WebSocket message however long (a history: LOG_KEEP messages of up to
 * MAX_TEXT characters, several MB of UTF-8), in fragments (RFC 6455 5.4), each written once the one
 * before left this process, so the server holds one fragment of it at a time and never cuts off a
 * peer for a message the server chose to send; then `after` (the messages held back while the
 * history was read) and what was sent meanwhile, in order. A peer that reads nothing stalls it: one
 * that has not taken it all within `deadlineMs` is cut off (HISTORY_DEADLINE_MS), as a peer that
 * leaves more than MAX_BUFFERED unread is; it may reconnect.
 */
async function sendLong(socket: WebSocket, message: unknown, after: Record<string, unknown>[], deadlineMs: number): Promise<void> {
  if (socket.readyState !== 1) return;
  const text = JSON.stringify(message);
  const long = { held: [] as string[], heldBytes: 0, close: undefined as { code: number; reason: string } | undefined };
  longMessages.set(socket, long);
  for (const payload of after) send(socket, payload);
  let onClose: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  socket.once('close', onClose);
  // Abruptly, as for too much unread (send): a close frame would wait behind what it does not take.
  const deadline = setTimeout(() => socket.terminate(), deadlineMs);
  deadline.unref();
  try {
    for (let start = 0; start < text.length && socket.readyState === 1;) {
      let end = Math.min(text.length, start + FRAGMENT_CHARS);
      // A surrogate pair stays in one fragment: each fragment is whole UTF-8.
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      const written = new Promise<void>((resolve) => socket.send(text.slice(start, end), { fin: end === text.length }, () => resolve()));
      await Promise.race([written, closed]);
      start = end;
    }
  } finally {
    clearTimeout(deadline);
    socket.off('close', onClose);
    longMessages.delete(socket);
  }
  for (const held of long.held) {
    if (socket.readyState !== 1) break;
    socket.send(held);
  }
  if (socket.bufferedAmount > MAX_BUFFERED) socket.terminate();
  if (long.close && socket.readyState === 1) socket.close(long.close.code, long.close.reason);
}

/**
 * A message as an object, or undefined for one that is not JSON, not an object, or holds half a
 * surrogate pair alone (a `\u` escape), which is no character and would be logged and shown as
 * U+FFFD: such a message is a bad one, as over HTTP.
 */
function parse(data: unknown): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(String(data)) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) && !holdsLoneSurrogate(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a diagnostics report has the documented form, a JSON object (`pairgate doctor`'s report):
 * a list or a plain value is none, and supporters' tools read it as an object.
 */
function isReport(report: unknown): report is object {
  return typeof report === 'object' && report !== null && !Array.isArray(report);
}

/**
 * Whether a diagnostics report is one to pass on: at most MAX_REPORT characters of JSON. A report
 * nested thousands of levels deep (a few kilobytes of brackets) is none: writing it as JSON, which
 * the length is measured by and the relay does again, overflows the stack, and the agent was told
 * `internal_error` where its message was the bad one.
 */
function reportFits(report: object): boolean {
  try {
    return JSON.stringify(report).length <= MAX_REPORT;
  } catch {
    return false;
  }
}

/** The bus topic of session `grantId`. */
const topicOf = (grantId: string): string => `support:${grantId}`;

/** What the session channel takes beyond its positional settings. */
export interface HubOptions {
  /** Supporter sockets of one session at once, across nodes (SupporterPresence); default MAX_SUPPORTERS. */
  maxSupporters?: number;
  /** How long a history may take to leave the server before its socket is cut off; default HISTORY_DEADLINE_MS. */
  historyDeadlineMs?: number;
  /** How long the hold of a session id its end takes lasts, and the end waits for another's (SessionIdLock). */
  idLock?: IdLockTimings;
}

/**
 * Attempts at an end no one waits for (endEventually) while the session id stays held: a node
 * that died holding it blocks it one hold's lifetime, so a second attempt finds it free; more
 * failures mean other writers keep it busy, and each attempt waits for them.
 */
const END_ATTEMPTS = 3;

/**
 * The session channel: after confirmation the agent holds a WebSocket to the session and the
 * supporter one (or more) to its supporter side. This hub relays their text messages and the
 * agent's diagnostics report, tells supporters every state change at once, and ends the session
 * when either side asks, when it is deleted, or at its expiry.
 *
 * The two sides may be connected to different nodes: each node keeps a room for the sessions it
 * holds sockets of, and messages between the sides travel on the session's topic of the message
 * bus (in process, PostgreSQL NOTIFY or Redis pub/sub), so every node holding a socket of the
 * session hands them on. State changes reach supporters through the engine's notifier, whichever
 * node made them, and a lease in the ephemeral store keeps a session to one agent across nodes.
 * The messages are also logged (SessionLog): a node that may have missed some while it was cut from
 * the bus reads them from the log once it listens again.
 */
export class SessionHub {
  private readonly rooms = new Map<string, Room>();
  private readonly leases: AgentLeases;
  private readonly log: SessionLog;
  private readonly presence: SupporterPresence;
  /** Holds a session id while its end reads and removes what is under it (see end). */
  private readonly idLock: SessionIdLock;
  /** The lease each accepted agent socket holds, given back when it closes. */
  private readonly agentLeases = new WeakMap<WebSocket, () => void>();
  /** Agent sockets cut off because another agent took their session's lease (agentLost). */
  private readonly lostAgents = new WeakSet<WebSocket>();
  /** How long a history may take to leave the server (sendLong). */
  private readonly historyDeadlineMs: number;

  constructor(
    private readonly ctx: DoorContext,
    private readonly helloMs: number,
    private readonly memories: SessionMemories,
    /** The pace of each socket's messages (see MessagePacer). */
    private readonly pace: PacerLimits,
    /** How long a supporter's presence mark lasts without renewal (see SupporterPresence). */
    presenceMs?: number,
    /** How often each socket is pinged; one that did not answer the previous ping is cut off (keepAlive). */
    private readonly pingMs = 30_000,
    options: HubOptions = {},
  ) {
    this.leases = new AgentLeases(ctx.stores.ephemeral, ctx.clock);
    this.log = new SessionLog(ctx.stores.ephemeral);
    this.presence = new SupporterPresence(ctx.stores.ephemeral, ctx.clock, presenceMs, options.maxSupporters);
    this.historyDeadlineMs = options.historyDeadlineMs ?? HISTORY_DEADLINE_MS;
    this.idLock = new SessionIdLock(ctx.stores.ephemeral, ctx.clock, options.idLock);
    ctx.shutdownSignal.addEventListener('abort', () => {
      for (const [grantId, room] of this.rooms) {
        room.stop();
        if (room.expiry) clearTimeout(room.expiry);
        clearInterval(room.presenceWatch);
        for (const socket of [room.agent, ...room.supporters]) socket?.close(1001, 'server shutting down');
        this.rooms.delete(grantId);
      }
    }, { once: true });
  }

  /**
   * The room of `session` here, made if there is none; undefined when the room here is another
   * session's made under the same id (see roomFor).
   */
  private room(session: SessionGrant): Room | undefined {
    let room = this.rooms.get(session.id);
    if (room && room.incarnation !== incarnationOf(session)) return undefined;
    if (!room) {
      const grantId = session.id;
      const incarnation = incarnationOf(session);
      const unlisten = this.ctx.stores.bus.listen(topicOf(grantId), (message) => this.fromBus(grantId, message));
      const unsubscribe = this.ctx.stores.notifier.subscribe(grantId, (change) => {
        const work = change.version === MISSED_CHANGES ? this.recheck(grantId) : this.broadcastState(grantId);
        void work.catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'session channel: state broadcast failed'));
      });
      const delivered = new DeliveredSeqs(0);
      room = {
        incarnation,
        agent: undefined,
        supporters: new Set(),
        expiry: undefined,
        delivered,
        agentBacklog: undefined,
        agentHistorySeqs: undefined,
        supporterBacklogs: new Map(),
        supporterHistorySeqs: new WeakMap(),
        agentToldSupporterAttached: undefined,
        presenceCheck: Promise.resolve(),
        presenceWatch: undefined,
        supportersSawAgentConnected: undefined,
        joining: 0,
        ended: false,
        stop: () => (unlisten(), unsubscribe()),
      };
      // What was said before this node held a socket of the session is history, not missed.
      void this.log.last(logIdOf(grantId, incarnation), this.ctx.clock.now()).then((last) => delivered.skipTo(last), () => undefined);
      const left = Math.min(2_147_000_000, Math.max(0, session.expiresAt - this.ctx.clock.now()));
      room.expiry = setTimeout(() => void this.endEventually(grantId, 'expired', incarnation), left);
      room.expiry.unref();
      this.rooms.set(grantId, room);
    }
    return room;
  }

  /**
   * The room of `session` here, or undefined when `session` is no longer the one its id names (the
   * socket joining it is then told `ended`). A room here of another session under the same id is one
   * made for a socket of the session before, whose `ended` has not reached this node yet (or for
   * a socket that checked the session before it was replaced, which goes on to find it replaced):
   * when the store holds `session`, that room is closed as its session's end would have closed it.
   */
  private async roomFor(session: SessionGrant): Promise<Room | undefined> {
    const room = this.room(session);
    if (room) return room;
    const current = await this.ctx.engine.get<SessionRequest, SessionResult>(session.id);
    if (!current || !sameSession(current, session)) return undefined;
    const other = this.rooms.get(session.id);
    if (other && other.incarnation !== incarnationOf(session)) this.closeRoom(session.id, 'deleted', other.incarnation);
    return this.room(session);
  }

  /** Puts `message` on the session's topic: every node holding a socket of it (this one too) acts on it. */
  private async publish(grantId: string, message: HubMessage): Promise<void> {
    await this.ctx.stores.bus.broadcast(topicOf(grantId), JSON.stringify(message));
  }

  /**
   * Logs a message between the sides for the session's life, then publishes it with its number.
   * A session ended meanwhile (`end` removes the session, then its log) would otherwise keep this
   * one message at rest until the session's original expiry, a day by default: so once logged, the
   * session is looked up again, and if it is gone (or its id names another session, whose log is
   * another, logIdOf) its log goes again and nothing is published.
   */
  private async relay(session: SessionGrant, message: LoggedHubMessage): Promise<void> {
    const now = this.ctx.clock.now();
    const logId = logIdOf(session.id, incarnationOf(session));
    const seq = await this.log.append(logId, JSON.stringify(message), Math.max(1_000, session.expiresAt - now), now);
    const current = await this.ctx.engine.get<SessionRequest, SessionResult>(session.id);
    if (!current || !sameSession(current, session)) {
      await this.log.forget(logId, this.ctx.clock.now());
      return;
    }
    await this.publish(session.id, { ...message, seq });
  }

  /** Hands a message between the sides to the sockets here, unless it was handed on already. */
  private deliver(room: Room, message: LoggedHubMessage): void {
    if (message.seq !== undefined && !room.delivered.mark(message.seq)) return;
    if (message.kind === 'to-supporters') for (const supporter of room.supporters) this.toSupporter(room, supporter, message);
    else if (message.seq !== undefined && room.agentHistorySeqs?.has(message.seq)) return;
    else if (room.agentBacklog) room.agentBacklog.push({ seq: message.seq, payload: message.payload });
    else send(room.agent, message.payload);
  }

  /** Hands a message to one supporter socket: held back while it is sent the history, once only. */
  private toSupporter(room: Room, supporter: WebSocket, message: LoggedHubMessage): void {
    if (message.seq !== undefined && room.supporterHistorySeqs.get(supporter)?.has(message.seq)) return;
    const backlog = room.supporterBacklogs.get(supporter);
    if (backlog) backlog.push({ seq: message.seq, payload: message.payload });
    else send(supporter, message.payload);
  }

  /** The chat messages (both ways) of the session's log, oldest first, and the numbers the log held. */
  private async chatSoFar(grantId: string, room: Room): Promise<{ messages: Record<string, unknown>[]; seqs: Set<number> }> {
    const entries = await this.log.since(logIdOf(grantId, room.incarnation), 0, this.ctx.clock.now());
    const messages: Record<string, unknown>[] = [];
    for (const entry of entries) {
      const logged = parse(entry.message) as LoggedHubMessage | undefined;
      if (logged?.payload?.type === 'message') messages.push(logged.payload);
    }
    return { messages, seqs: new Set(entries.map((entry) => entry.seq)) };
  }

  /**
   * Sends a supporter who (re)attaches and asked for it the chat so far, so that what the person
   * wrote while nobody was attached is not lost to them; then what was held back meanwhile, each
   * message once (see sendHistory).
   */
  private async sendSupporterHistory(grantId: string, room: Room, socket: WebSocket): Promise<void> {
    try {
      const { messages, seqs } = await this.chatSoFar(grantId, room);
      if (!room.supporters.has(socket)) return;
      room.supporterHistorySeqs.set(socket, seqs);
      const held = (room.supporterBacklogs.get(socket) ?? []).filter((entry) => entry.seq === undefined || !seqs.has(entry.seq));
      // Not waited for (a peer taking it slowly holds up nothing else); from here on, what comes for
      // this socket waits after the history (sendLong), the backlog goes.
      this.sendHistoryOf(socket, messages, held);
    } finally {
      room.supporterBacklogs.delete(socket);
    }
  }

  /**
   * Sends a joining agent the chat of the session so far (`history`), for a page that was reloaded
   * or reopened: the latest LOG_KEEP messages both ways, oldest first, diagnostics reports left out.
   * Then the messages held back meanwhile, those the history already holds left out (by number:
   * numbers may arrive out of order, and one taken by a message still being written is not in it).
   */
  private async sendHistory(grantId: string, room: Room, socket: WebSocket): Promise<void> {
    try {
      const { messages, seqs } = await this.chatSoFar(grantId, room);
      if (room.agent !== socket) return;
      room.agentHistorySeqs = seqs;
      const held = (room.agentBacklog ?? []).filter((entry) => entry.seq === undefined || !seqs.has(entry.seq));
      // Not waited for (the agent's messages after its hello are read meanwhile, MessagePacer); from
      // here on, what comes for the agent waits after the history (sendLong), the backlog goes.
      this.sendHistoryOf(socket, messages, held);
    } finally {
      room.agentBacklog = undefined;
    }
  }

  /** Starts sending `socket` the history `messages`, then the messages `held` back meanwhile (sendLong). */
  private sendHistoryOf(socket: WebSocket, messages: Record<string, unknown>[], held: { payload: Record<string, unknown> }[]): void {
    sendLong(socket, { type: 'history', messages }, held.map((entry) => entry.payload), this.historyDeadlineMs).catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'session channel: history not sent'));
  }

  /** Hands on the logged messages of session `grantId` this node has not (it may have missed them). */
  private async replay(grantId: string): Promise<void> {
    const room = this.rooms.get(grantId);
    if (!room) return;
    const entries = await this.log.since(logIdOf(grantId, room.incarnation), room.delivered.contiguous, this.ctx.clock.now());
    // The log keeps the latest LOG_KEEP messages: older ones missed here are gone, not a gap to wait for.
    const newest = entries.at(-1)?.seq;
    if (newest !== undefined) room.delivered.skipTo(newest - LOG_KEEP);
    for (const entry of entries) {
      const message = parse(entry.message) as LoggedHubMessage | undefined;
      if (message && this.rooms.get(grantId) === room) this.deliver(room, { ...message, seq: entry.seq });
    }
  }

  /** A message of the session's topic, from this node or another: hand it to the sockets held here. */
  private fromBus(grantId: string, raw: string): void {
    const room = this.rooms.get(grantId);
    const message = parse(raw) as HubMessage | undefined;
    if (!room || !message) return;
    if (message.kind === 'ended') this.closeRoom(grantId, message.reason, message.session);
    else if (message.kind === 'supporters-changed') this.checkSupporters(grantId, room);
    else if (message.kind === 'to-supporters' || message.kind === 'to-agent') this.deliver(room, message);
  }

  /**
   * Closes the sockets of session `grantId` held here, telling them why, and forgets the room; with
   * `incarnation`, only a room of that session (not of another made since under its id).
   */
  private closeRoom(grantId: string, reason: EndReason, incarnation?: string): void {
    const room = this.rooms.get(grantId);
    if (!room || (incarnation !== undefined && room.incarnation !== incarnation)) return;
    this.rooms.delete(grantId);
    room.ended = true;
    room.stop();
    if (room.expiry) clearTimeout(room.expiry);
    clearInterval(room.presenceWatch);
    for (const socket of [room.agent, ...room.supporters]) {
      send(socket, { type: 'ended', reason });
      if (socket) close(socket, CLOSE.ended, `session ended (${reason})`);
    }
  }

  /**
   * Lets go of `room` once it holds no socket (and no agent is joining it): a room stays subscribed
   * to the session's topic and grant changes, reading the grant on every change, and keeps its
   * expiry timer, for the session's whole life (up to PAIRGATE_SUPPORT_MAX_TTL). What a socket
   * coming back needs is in the store (the session, its log, the presence marks, the agent's lease):
   * a new room reads it, and no notice depends on what the old one saw (a supporter attaching reads
   * the agent's presence afresh, see acceptSupporter). The session still ends at its TTL without it:
   * stores never return an expired grant, and its log, marks and memory expire on their own.
   */
  private releaseIfIdle(grantId: string, room: Room): void {
    if (this.rooms.get(grantId) !== room || room.agent || room.supporters.size > 0 || room.joining > 0) return;
    this.rooms.delete(grantId);
    room.stop();
    if (room.expiry) clearTimeout(room.expiry);
    clearInterval(room.presenceWatch);
  }

  /**
   * After this node may have missed messages (its listening connection came back): a session that
   * ended meanwhile on another node, whose "ended" never arrived, has its sockets here closed; the
   * others get the current state and the messages sent meanwhile.
   */
  private async recheck(grantId: string): Promise<void> {
    const grant = await this.ctx.engine.get<SessionRequest, SessionResult>(grantId);
    const room = this.rooms.get(grantId);
    if (!grant || (room && room.incarnation !== incarnationOf(grant))) {
      this.closeRoom(grantId, 'deleted', room?.incarnation);
      return;
    }
    await this.broadcastState(grantId);
    await this.replay(grantId);
  }

  /** Sends the session's current state to its supporters connected here (on every change of its grant). */
  private async broadcastState(grantId: string): Promise<void> {
    const room = this.rooms.get(grantId);
    if (!room) return;
    // Read even with no supporter here: the agent's comings and goings meanwhile must be known to
    // tell a supporter attaching later of the next one (a stale "connected" hid the next leave).
    const grant = await this.ctx.engine.get<SessionRequest, SessionResult>(grantId);
    if (!grant || this.rooms.get(grantId) !== room) return;
    // The id names another session now: this room's ended, and its `ended` has not come here yet.
    if (room.incarnation !== incarnationOf(grant)) {
      this.closeRoom(grantId, 'deleted', room.incarnation);
      return;
    }
    const state = sessionState(this.ctx.engine.stateOf(grant), grant.result);
    const left = this.agentPresenceChange(room, state, grant.result);
    for (const socket of room.supporters) {
      send(socket, { type: 'state', state });
      if (left !== undefined) send(socket, left ? this.peerLeft('agent', grant.expiresAt) : { type: 'peer_joined', peer: 'agent' });
    }
  }

  /**
   * Whether the agent just left (true) or came back (false) by the session's new `state`, as the
   * supporters here last saw it; undefined when that is no change (or the first state they see).
   * A session confirmed whose agent never connected (`result.connectedAt`) is waited for, not
   * left: its first connection is no return.
   */
  private agentPresenceChange(room: Room, state: string, result: SessionResult | null | undefined): boolean | undefined {
    const before = room.supportersSawAgentConnected;
    // Only connected and confirmed say whether the agent is there; a final state is told as such.
    if (state !== 'connected' && state !== 'confirmed') return undefined;
    if (state === 'confirmed' && !result?.connectedAt) return undefined;
    const connected = state === 'connected';
    room.supportersSawAgentConnected = connected;
    return before === undefined || before === connected ? undefined : !connected;
  }

  /**
   * The notice that the other side left a live session: it may come back until the session
   * expires (`expiresAt`), since leaving ends nothing; an end is told as `ended` instead.
   */
  private peerLeft(peer: 'agent' | 'supporter', expiresAt: number): Record<string, unknown> {
    return { type: 'peer_left', peer, mayReturn: true, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * Tells the agent here whether a supporter is attached, when that changed since it was last told
   * (a supporter attached or detached on some node: `supporters-changed` on the bus; or the marks
   * lapsed, seen by presenceWatch). A supporter the person was never told of before joined
   * (`first: true`); one after that came back.
   */
  private checkSupporters(grantId: string, room: Room): void {
    room.presenceCheck = room.presenceCheck.then(async () => {
      const agent = room.agent;
      if (!agent || room.agentToldSupporterAttached === undefined || this.rooms.get(grantId) !== room) return;
      const attached = await this.presence.anyAttached(grantId);
      if (room.agent !== agent || room.agentToldSupporterAttached === attached || this.rooms.get(grantId) !== room) return;
      room.agentToldSupporterAttached = attached;
      const session = await this.ctx.engine.get<SessionRequest, SessionResult>(grantId);
      if (!session || this.rooms.get(grantId) !== room) return;
      if (!attached) {
        this.toAgent(room, this.peerLeft('supporter', session.expiresAt));
        return;
      }
      const first = !(await this.presence.agentSawSupporter(grantId));
      await this.presence.noteAgentSawSupporter(grantId, session.expiresAt - this.ctx.clock.now());
      if (room.agent === agent) this.toAgent(room, { type: 'peer_joined', peer: 'supporter', first });
    }).catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'session channel: could not tell the agent whether a supporter is attached'));
  }

  /** Sends the agent here a notice (not logged): after the history it asked for, if that is being sent. */
  private toAgent(room: Room, payload: Record<string, unknown>): void {
    if (room.agentBacklog) room.agentBacklog.push({ seq: undefined, payload });
    else send(room.agent, payload);
  }

  /**
   * Ends session `grantId`: tells every socket why on every node, closes them, and removes the
   * session and its pairing code, so nothing of it stays usable. Only a session that reached its
   * expiry is still answered as `expired` afterwards; one ended sooner is forgotten.
   *
   * With `incarnation` (a socket's or a room's session, see incarnationOf), only that session ends:
   * when its id names another session by now, that one is left alone (only rooms of the one meant close).
   * The read and the removal hold the id (SessionIdLock), as a creation reclaiming it does: a session
   * that expired meanwhile (the room's expiry timer ends it right then) and whose id a creation
   * reclaimed would otherwise have the new session removed by its end, and its note forgotten.
   * `alsoUnderId` runs under that hold once the session is removed (what else the caller keeps under
   * the id goes there, before a session created again under it can write its own).
   */
  async end(grantId: string, reason: EndReason, incarnation?: string, alsoUnderId?: () => Promise<void>): Promise<void> {
    // The sockets here close at once; those of other nodes when the bus brings them the news, sent
    // once the session is gone (whoever hears "ended" finds nothing left). The session goes even
    // when the bus fails: its sockets elsewhere then close with their room's expiry.
    this.closeRoom(grantId, reason, incarnation);
    let ended = incarnation;
    try {
      const removed = await this.idLock.hold(grantId, async () => {
        const grant = await this.ctx.engine.get<SessionRequest, SessionResult>(grantId);
        if (grant && incarnation !== undefined && incarnationOf(grant) !== incarnation) return false;
        ended ??= grant ? incarnationOf(grant) : undefined;
        if (grant?.request.pairingGrantId) await this.ctx.engine.remove(grant.request.pairingGrantId);
        // The note before the removal: while a live session is there, no creation under its id can have left its own.
        if (reason !== 'expired') await this.memories.forget(grantId);
        await this.ctx.engine.remove(grantId);
        await alsoUnderId?.();
        return true;
      }, () => new UnavailableError('The session id is being written by another request (a creation under it). Try again shortly.'));
      if (removed && ended !== undefined) await this.log.forget(logIdOf(grantId, ended), this.ctx.clock.now());
    } finally {
      // Naming the session that ended: a node holding a room of another made since under its id keeps it.
      await this.publish(grantId, { kind: 'ended', reason, ...(ended !== undefined ? { session: ended } : {}) }).catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'session channel: could not tell other nodes the session ended'));
    }
  }

  /**
   * Ends session `grantId` as `end` does, for an end no one waits on (its expiry, a side's `end`
   * message): every socket is told `ended` at the first attempt, so when the session id stays held
   * (503 unavailable: a node died holding it, or a creation under it is stalled) the session would
   * otherwise stay live, its sockets able to attach again, until its expiry (a day by default).
   * It is tried again once the hold has lapsed (the hold's lifetime), up to END_ATTEMPTS times;
   * a failure for another reason, or the last, is logged.
   */
  private async endEventually(grantId: string, reason: EndReason, incarnation: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.end(grantId, reason, incarnation);
        return;
      } catch (error) {
        if (!(error instanceof UnavailableError) || attempt >= END_ATTEMPTS || this.ctx.shutdownSignal.aborted) {
          this.ctx.logger.warn({ err: error, attempt }, 'session channel: end failed');
          return;
        }
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          clearTimeout(timer);
          this.ctx.shutdownSignal.removeEventListener('abort', stop);
          resolve();
        };
        const timer = setTimeout(stop, this.idLock.holdMs);
        timer.unref();
        this.ctx.shutdownSignal.addEventListener('abort', stop, { once: true });
      });
      if (this.ctx.shutdownSignal.aborted) return;
    }
  }

  /**
   * Serves an agent socket: the first message must be `{"type":"hello","credential":"..."}` within
   * the hello time; then `message`, `diagnostics` and `end` messages are accepted.
   */
  acceptAgent(socket: WebSocket, session: SessionGrant): void {
    let authed = false;
    keepAlive(socket, this.pingMs);
    const timer = setTimeout(() => socket.close(CLOSE.helloTimeout, 'no hello in time'), this.helloMs);
    // One message after the other (the hello first), at the channel's pace.
    new MessagePacer(socket, this.pace, async (data) => {
      if (authed) await this.fromAgent(session, socket, data);
      else authed = await this.agentHello(socket, session, data);
    }, (error) => {
      this.ctx.logger.warn({ err: error }, 'session channel: agent message failed');
      send(socket, { type: 'error', code: 'internal_error', message: 'The message could not be handled.' });
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const release = this.agentLeases.get(socket);
      this.agentLeases.delete(socket);
      const room = this.rooms.get(session.id);
      if (room?.agent !== socket) {
        release?.();
        return;
      }
      room.agent = undefined;
      room.agentToldSupporterAttached = undefined;
      clearInterval(room.presenceWatch);
      room.presenceWatch = undefined;
      this.releaseIfIdle(session.id, room);
      // Supporters, here and on other nodes, hear of it through the grant's change. The lease goes
      // only once the session says disconnected: an agent coming straight back (the session page
      // reloaded) cannot be marked connected before this agent's departure is written.
      void this.agentLeft(session, socket).catch(() => undefined).finally(() => release?.());
    });
    socket.once('message', () => clearTimeout(timer));
  }

  /**
   * Writes the session disconnected once its agent `socket` closed, so supporters, on every node,
   * are told it left. Not when the socket was cut off for losing its lease (agentLost) to an agent
   * that still holds it: that one is the session's agent, connected, and writing "disconnected"
   * would tell the supporters nobody is there while it talks to them (nothing would write
   * "connected" again before it reconnects). A lease found free by then is a normal leave.
   */
  private async agentLeft(session: SessionGrant, socket: WebSocket): Promise<void> {
    if (this.lostAgents.has(socket) && (await this.leases.held(session.id))) return;
    await this.setConnected(session, false);
  }

  /**
   * Cuts off agent `socket`, whose lease of session `grantId` another agent took after it lapsed
   * (this node or its store stalled past the lease's lifetime): two agents would otherwise talk
   * in one session. Told and closed as a duplicate agent (4009); its close is then handled as any
   * agent's (agentLeft).
   */
  private agentLost(grantId: string, socket: WebSocket): void {
    if (socket.readyState !== 1) return;
    this.lostAgents.add(socket);
    this.ctx.logger.warn({ session: grantId }, 'session channel: an agent lost its lease to another agent; closing it');
    send(socket, { type: 'error', code: 'agent_already_connected', message: 'Another agent is connected to this session now; this connection is closed.' });
    socket.close(CLOSE.duplicate, 'An agent is already connected to this session.');
  }

  private async agentHello(socket: WebSocket, initial: SessionGrant, data: unknown): Promise<boolean> {
    const hello = parse(data);
    const refuse = (code: number, message: string): false => {
      send(socket, { type: 'error', code: code === CLOSE.duplicate ? 'agent_already_connected' : 'unauthorized', message });
      socket.close(code, message);
      return false;
    };
    if (hello?.type !== 'hello') return refuse(CLOSE.unauthorized, 'The first message must be a hello with the session credential.');
    let session = await this.ctx.engine.get<SessionRequest, SessionResult>(initial.id);
    if (!session) return refuse(CLOSE.unauthorized, 'This session has ended or expired.');
    // The socket was let in for `initial` (its agent link checked): the session its id names now is
    // another, made after that one was deleted (or expired), and this socket has nothing to do there.
    if (!sameSession(session, initial)) return this.endReplaced(socket, initial);
    const state = this.ctx.engine.stateOf(session);
    if (session.request.pairingGrantId) {
      // Pairing is on: only the holder of the credential the confirmation returned may join.
      const credential = typeof hello.credential === 'string' ? hello.credential : '';
      const expected = session.result?.credentialHash ?? '';
      if (state !== 'approved' || !credential || !expected || !constantTimeEqual(hashToken(credential), expected)) {
        return refuse(CLOSE.unauthorized, 'The session credential is wrong, or the session was not confirmed.');
      }
    } else if (state === 'pending') {
      // No pairing codes: like the original, the agent token of AgentMSH is the invitation.
      try {
        session = (await this.ctx.engine.approve<SessionResult>(session.id, { credentialHash: null, confirmedAt: this.ctx.clock.now(), connected: false, connectedAt: null })) as SessionGrant;
      } catch (error) {
        // Another agent's hello, here or on another node, approved it first: that agent joins.
        if (!(error instanceof IllegalTransitionError)) throw error;
        return refuse(CLOSE.duplicate, 'An agent is already connected to this session.');
      }
    } else if (state !== 'approved') {
      return refuse(CLOSE.unauthorized, 'This session cannot be joined any more.');
    }
    const room = await this.roomFor(session);
    if (!room) return this.endReplaced(socket, session);
    // Kept while this hello is under way, even with no socket in it yet (releaseIfIdle).
    room.joining++;
    try {
      return await this.joinAgent(socket, session, room, hello, refuse);
    } finally {
      room.joining--;
      this.releaseIfIdle(session.id, room);
    }
  }

  /** The rest of an agent's hello, once its credential is checked: takes the session's one agent place in `room`. */
  private async joinAgent(socket: WebSocket, session: SessionGrant, room: Room, hello: Record<string, unknown>, refuse: (code: number, message: string) => false): Promise<boolean> {
    if (room.agent && room.agent.readyState === 1) return refuse(CLOSE.duplicate, 'An agent is already connected to this session.');
    // The check above covers this node; the lease covers the others (and two hellos here at once).
    // Should this agent's lease lapse and another agent take it (a stall here), this one is cut off.
    const release = await this.leases.acquire(session.id, () => this.agentLost(session.id, socket));
    if (!release) return refuse(CLOSE.duplicate, 'An agent is already connected to this session.');
    if (socket.readyState !== 1 || this.rooms.get(session.id) !== room) {
      // Gone while the lease was taken: the socket closed, or the session ended.
      release();
      return socket.readyState === 1 ? refuse(CLOSE.unauthorized, 'This session has ended or expired.') : false;
    }
    // Given back by the socket's close handler (acceptAgent).
    this.agentLeases.set(socket, release);
    // An agent asking for the history gets no message before it (see sendHistory).
    room.agentHistorySeqs = undefined;
    if (hello.history === true) room.agentBacklog = [];
    room.agent = socket;
    let connected: boolean;
    try {
      connected = await this.setConnected(session, true);
    } catch (error) {
      // No welcome, so no history: what was held back goes nowhere.
      room.agentBacklog = undefined;
      throw error;
    }
    // The session may have ended after this hello read it (deleted, ended by the supporter, or
    // expired): its end closed the room it found, if any, not this one, made after it, and its
    // `ended` may have gone on the bus before this room listened; this agent would be welcomed into
    // a room of its own. Read once the room listens: a session still there now is ended later, and
    // that `ended` reaches this room. The connected mark found it gone (or another under its id) too,
    // between its read and its write: an end, not a failure.
    const current = connected ? await this.ctx.engine.get<SessionRequest, SessionResult>(session.id) : undefined;
    if (!current || !sameSession(current, session)) {
      room.agentBacklog = undefined;
      await this.endLate(session, socket);
      return false;
    }
    const supporterAttached = await this.presence.anyAttached(session.id).catch(() => false);
    if (supporterAttached) await this.presence.noteAgentSawSupporter(session.id, session.expiresAt - this.ctx.clock.now()).catch(() => undefined);
    // Set just before the welcome, with no wait between: a presence check may tell news only after it.
    room.agentToldSupporterAttached = supporterAttached;
    clearInterval(room.presenceWatch);
    if (room.agent === socket) {
      room.presenceWatch = setInterval(() => this.checkSupporters(session.id, room), this.presence.lifetimeMs / 3);
      room.presenceWatch.unref();
    }
    send(socket, { type: 'welcome', session: session.request.id, supporterName: session.request.supporterName, expiresAt: new Date(session.expiresAt).toISOString(), supporterAttached });
    if (room.agentBacklog) await this.sendHistory(session.id, room, socket);
    return true;
  }

  private async fromAgent(session: SessionGrant, socket: WebSocket, data: unknown): Promise<void> {
    const message = parse(data);
    const room = this.rooms.get(session.id);
    if (!room || room.agent !== socket) return;
    if (message?.type === 'message' && typeof message.text === 'string' && message.text.length > 0 && message.text.length <= MAX_TEXT) {
      const out = { type: 'message', from: 'agent', text: message.text, at: new Date(this.ctx.clock.now()).toISOString() };
      await this.relay(session, { kind: 'to-supporters', payload: out });
    } else if (message?.type === 'diagnostics' && isReport(message.report) && reportFits(message.report)) {
      await this.relay(session, { kind: 'to-supporters', payload: { type: 'diagnostics', report: message.report, at: new Date(this.ctx.clock.now()).toISOString() } });
    } else if (message?.type === 'end') {
      await this.endEventually(session.id, 'agent', incarnationOf(session));
    } else {
      send(socket, { type: 'error', code: 'bad_message', message: `Messages are JSON: message (text up to ${MAX_TEXT} characters), diagnostics (report: a JSON object, up to ${MAX_REPORT} characters) or end.` });
    }
  }

  /**
   * Serves a supporter socket (already authenticated): state now and on change, messages, end.
   * With `history`, the chat so far follows the state (`{"type": "history", "messages": [...]}`).
   * A socket beyond the session's cap of supporters (SupporterPresence, across every node) is told
   * `too_many_supporters` and closed (4429) before it joins anything.
   */
  async acceptSupporter(socket: WebSocket, session: SessionGrant, options: { history?: boolean } = {}): Promise<void> {
    keepAlive(socket, this.pingMs);
    // This socket's mark (and place under the cap), taken before it joins a room, so that one over
    // the cap is sent no state, history or message. A store failing here lets it in unmarked, as
    // before the cap (logged): the agent is then not told of it.
    // Should its mark lapse and every place be taken by then (a stall here), it is cut off as over the cap.
    const placed = this.presence.mark(session.id, () => this.refuseOverCap(socket)).catch((error: unknown) => {
      this.ctx.logger.warn({ err: error }, 'session channel: could not tell the agent a supporter attached');
      return 'unmarked' as const;
    });
    let room: Room | undefined;
    let letIn: (joined: boolean) => void = () => undefined;
    const admitted = new Promise<boolean>((resolve) => (letIn = resolve));
    socket.on('close', () => {
      letIn(false);
      if (room) {
        room.supporters.delete(socket);
        room.supporterBacklogs.delete(socket);
        this.releaseIfIdle(session.id, room);
      }
      const joined = room;
      void placed.then(async (unmark) => {
        if (typeof unmark !== 'function') return;
        await unmark();
        // A room closed by the session's end told everyone `ended`: no "left" after it. (One let go
        // for holding no socket any more still tells the agent, wherever it is.) A socket that never
        // joined was never told to the agent.
        if (joined && !joined.ended) await this.publish(session.id, { kind: 'supporters-changed' });
      }).catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'session channel: could not tell the agent the supporter left'));
    });
    // One message after the other, so that they are numbered and arrive in the order sent, at the
    // channel's pace. Listening from the start, so none sent while the socket is let in is lost;
    // they are handled once it is in (the pacer stops reading the socket while they wait).
    new MessagePacer(socket, this.pace, async (data) => {
      if (!(await admitted)) return;
      const message = parse(data);
      if (message?.type === 'message' && typeof message.text === 'string' && message.text.length > 0 && message.text.length <= MAX_TEXT) {
        const out = { type: 'message', from: 'supporter', text: message.text, at: new Date(this.ctx.clock.now()).toISOString() };
        await this.relay(session, { kind: 'to-agent', payload: out }).catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'session channel: supporter message not relayed'));
      } else if (message?.type === 'end') {
        void this.endEventually(session.id, 'supporter', incarnationOf(session));
      } else {
        send(socket, { type: 'error', code: 'bad_message', message: `Messages are JSON: message (text up to ${MAX_TEXT} characters) or end.` });
      }
    }, (error) => this.ctx.logger.warn({ err: error }, 'session channel: supporter message failed'));
    try {
      // The first state is sent once the mark is stored: a supporter that has seen it is counted by
      // an agent welcomed after that, on any node.
      const unmark = await placed;
      if (unmark === undefined) {
        this.refuseOverCap(socket);
        return;
      }
      if (socket.readyState !== 1) return;
      // A room of another session under this id may be here: roomFor reads which one the id names.
      const found = await this.roomFor(session);
      if (socket.readyState !== 1) {
        if (found) this.releaseIfIdle(session.id, found);
        return;
      }
      if (!found) {
        this.endReplaced(socket, session);
        return;
      }
      room = found;
      if (options.history) room.supporterBacklogs.set(socket, []);
      room.supporters.add(socket);
      letIn(true);
      // The agent, here or on another node, is told this supporter attached, and later that it left.
      if (unmark !== 'unmarked') this.publish(session.id, { kind: 'supporters-changed' }).catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'session channel: could not tell the agent a supporter attached'));
      const current = await this.ctx.engine.get<SessionRequest, SessionResult>(session.id);
      if (!current || !sameSession(current, session)) {
        // The session ended between the upgrade's check and now (deleted, ended by a side, or
        // expired): its end closed the room it found, not this one, made after it, so this socket
        // would sit in a room of its own answering `expired` until the session's original expiry
        // (or, when its id names another session by now, in that one's room).
        await this.endLate(session, socket);
        return;
      }
      const state = sessionState(this.ctx.engine.stateOf(current), current.result);
      if (room.supportersSawAgentConnected === undefined) this.agentPresenceChange(room, state, current.result);
      send(socket, { type: 'state', state });
      if (options.history) await this.sendSupporterHistory(session.id, room, socket);
    } finally {
      // Not let in (refused, closed, or the session gone): what it sent goes nowhere.
      letIn(false);
    }
  }

  /**
   * Tells supporter `socket` the session has all the supporter sockets it allows and closes it
   * (4429): one beyond the cap, or one whose mark lapsed and found every place taken.
   */
  private refuseOverCap(socket: WebSocket): void {
    if (socket.readyState !== 1) return;
    const max = this.presence.maxSupporters;
    send(socket, { type: 'error', code: SUPPORTERS_CAP_CODE, message: `This session already has ${max} supporter connection${max === 1 ? '' : 's'} attached, the most it allows. Close one of them (or wait until one drops), then attach again.` });
    socket.close(CLOSE.tooManySupporters, SUPPORTERS_CAP_CODE);
  }

  /**
   * Ends `socket`, taken in after its session ended (found gone once its room listened): it is told
   * `ended` and closed as the session's other sockets were, and the room made for it goes too. The
   * reason is `expired` while the session is remembered as expired, else `deleted` (a side's end
   * leaves nothing to tell it from a deletion).
   */
  private async endLate(session: SessionGrant, socket: WebSocket): Promise<void> {
    const grantId = session.id;
    const reason: EndReason = (await this.memories.expired(grantId).catch(() => undefined)) ? 'expired' : 'deleted';
    this.closeRoom(grantId, reason, incarnationOf(session));
    // Told here too when its room was closed already (by the bus's `ended`) or is not the one it is in.
    if (socket.readyState === 1) {
      send(socket, { type: 'ended', reason });
      close(socket, CLOSE.ended, `session ended (${reason})`);
    }
  }

  /**
   * Tells a socket let in for `session` that it ended, when its id names another session by now
   * (see incarnationOf), and closes it; the rooms here, which may be that other session's, are left
   * alone. `expired` when that session's time was up, else `deleted`.
   */
  private endReplaced(socket: WebSocket, session: SessionGrant): false {
    const reason: EndReason = session.expiresAt <= this.ctx.clock.now() ? 'expired' : 'deleted';
    send(socket, { type: 'ended', reason });
    if (socket.readyState === 1) socket.close(CLOSE.ended, `session ended (${reason})`);
    return false;
  }

  /**
   * Marks `session` connected or not: false when it is gone, or its id names another session, by
   * the read or by the write (removed in between, as by another node or at its expiry).
   */
  private async setConnected(session: SessionGrant, connected: boolean): Promise<boolean> {
    const grant = await this.ctx.engine.get<SessionRequest, SessionResult>(session.id);
    if (!grant || !sameSession(grant, session)) return false;
    if (grant.result?.connected === connected) return true;
    try {
      await this.ctx.engine.update<SessionRequest, SessionResult>(session.id, (current) => {
        if (!sameSession(current, session)) throw new SessionReplaced();
        return {
          result: { ...(current.result ?? { credentialHash: null, confirmedAt: this.ctx.clock.now(), connectedAt: null }), connected, connectedAt: connected ? this.ctx.clock.now() : (current.result?.connectedAt ?? null) },
        };
      });
      return true;
    } catch (error) {
      if (error instanceof SessionReplaced || (error instanceof NotFoundError && error.code === 'grant_not_found')) return false;
      throw error;
    }
  }
}
