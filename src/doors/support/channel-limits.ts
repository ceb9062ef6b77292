/**
 * Limits of the session channel's messages, in a module of their own so the agent (`pairgate join`)
 * can fit its report to them without loading the server's hub.
 */

/** Longest chat message, in characters. */
export const MAX_TEXT = 4000;
/** Largest diagnostics report, in characters of JSON. */
export const MAX_REPORT = 32 * 1024;
