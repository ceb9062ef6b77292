/**
 * The wire form of a bus message between nodes (Redis pub/sub, PostgreSQL NOTIFY): JSON naming
 * the sending node (which skips its own: it delivered them locally already), the topic, and either
 * the message or, where the channel limits the size (NOTIFY: 8000 bytes), the ephemeral key that
 * holds it.
 */

/** A bus message as it travels. */
export interface BusEnvelope {
  node: string;
  topic: string;
  /** The message itself. */
  message?: string;
  /** Or the ephemeral key it was stored under. */
  ref?: string;
}

/** Encodes a bus message. */
export function encodeBusMessage(envelope: BusEnvelope): string {
  return JSON.stringify(envelope);
}

/** A received bus message, or undefined when the payload is not one. */
export function parseBusMessage(payload: string): BusEnvelope | undefined {
  try {
    const value = JSON.parse(payload) as Partial<Record<keyof BusEnvelope, unknown>>;
    if (typeof value.node !== 'string' || typeof value.topic !== 'string') return undefined;
    if (typeof value.message === 'string') return { node: value.node, topic: value.topic, message: value.message };
    if (typeof value.ref === 'string') return { node: value.node, topic: value.topic, ref: value.ref };
    return undefined;
  } catch {
    return undefined;
  }
}
