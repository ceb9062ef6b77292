import type { GrantChange } from './ports.js';

/**
 * The wire form of a grant change between nodes (Redis pub/sub, PostgreSQL NOTIFY): JSON naming
 * the sending node, so a node can skip its own messages (it has delivered them locally already).
 */

/** Encodes a change sent by `node`. */
export function encodeChange(node: string, change: GrantChange): string {
  return JSON.stringify({ node, id: change.id, version: change.version });
}

/** A received change, or undefined when the payload is not one. */
export function parseChange(payload: string): (GrantChange & { node: string }) | undefined {
  try {
    const value = JSON.parse(payload) as { node?: unknown; id?: unknown; version?: unknown };
    if (typeof value.node !== 'string' || typeof value.id !== 'string' || typeof value.version !== 'number') return undefined;
    return { node: value.node, id: value.id, version: value.version };
  } catch {
    return undefined;
  }
}
