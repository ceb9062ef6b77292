import { Type } from 'typebox';
import type { ErrorShape } from '../../../server/error-shapes.js';

/** A Mattermost Apps call response (`ok`, `error` or `form`). */
export const CallResponseSchema = Type.Object({
  type: Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('form')]),
  text: Type.Optional(Type.String()),
  data: Type.Optional(Type.Unknown()),
  form: Type.Optional(Type.Unknown()),
}, { additionalProperties: true });

/** `{type: "ok", text, data}`. */
export function ok(text: string, data?: unknown): { type: 'ok'; text: string; data?: unknown } {
  return data === undefined ? { type: 'ok', text } : { type: 'ok', text, data };
}

/**
 * Errors of the Mattermost routes as call responses: `{type: "error", text, data: {error: <code>}}`
 * with the error's own HTTP status, so Mattermost shows the text and programs read the code.
 */
export const mattermostErrorShape: ErrorShape = (error) => ({
  type: 'error',
  text: error.message,
  data: { error: error.code, ...(typeof error.details?.retryAfterSeconds === 'number' ? { retry_after_seconds: error.details.retryAfterSeconds } : {}) },
});
