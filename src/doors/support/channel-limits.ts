/**
 * Limits of the session channel's messages, in a module of their own so the agent (`pairgate join`)
 * can fit its report to them without loading the server's hub.
 */

/** Longest chat message, in characters. */
export const MAX_TEXT = 4000;
/** Largest diagnostics report, in characters of JSON. */
export const MAX_REPORT = 32 * 1024;
/**
 * Bytes the server may hold for one socket that its peer has not taken yet; beyond, the socket is
 * cut off (a peer that reads nothing would otherwise make the server keep all that is sent to it).
 */
export const MAX_BUFFERED = 1024 * 1024;
