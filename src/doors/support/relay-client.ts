import { BadGatewayError } from '../../core/errors.js';
import { relayCodeFormat } from './relay-code.js';

/** What the relay handed out for a session. */
export interface Publication {
  /** The code in canonical form. */
  code: string;
  pairingUrl: string;
  redirectUrl: string;
}

/**
 * Most of the relay's answer that is read: its answer is a few hundred bytes. The relay is often
 * another party's server (the seed's pc-assist.app); one that sends without end would otherwise
 * have the origin hold all it sends until the timeout, hundreds of megabytes a second.
 */
export const MAX_RELAY_ANSWER_BYTES = 16 * 1024;

/** The body of `response` as text, or undefined when it is longer than `max` bytes (then not read further). */
async function readAtMost(response: Response, max: number): Promise<string | undefined> {
  if (Number(response.headers.get('content-length') ?? 0) > max) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks).toString('utf8');
    length += value.byteLength;
    if (length > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
}

/**
 * The origin's client of the relay: publishes `{"url": "<origin>/pairing"}` on PLEXUS_PAIRING_URL
 * and checks the answer. Any failure (down, slow, an error status, a malformed answer) is a
 * BadGatewayError (an answer over MAX_RELAY_ANSWER_BYTES too), so the caller can undo what it made and answer 502; its message says what the
 * relay did, and the caller adds what it means (`withConsequence`).
 */
export async function publishOnRelay(relayUrl: string, originPairingBase: string, timeoutMs: number): Promise<Publication> {
  let response: Response;
  try {
    response = await fetch(relayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ url: originPairingBase }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new BadGatewayError(`The pairing relay cannot be reached (${reason})`, 'relay_unreachable');
  }
  let text: string | undefined;
  try {
    text = await readAtMost(response, MAX_RELAY_ANSWER_BYTES);
  } catch {
    // cut off (the timeout, the connection): handled below as an answer without JSON
    text = '';
  }
  if (text === undefined) {
    throw new BadGatewayError(`The pairing relay answered with more than ${MAX_RELAY_ANSWER_BYTES} bytes`, 'relay_bad_answer');
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // handled below: a non-JSON answer is a bad answer
  }
  if (!response.ok || body.success !== true) {
    const said = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
    throw new BadGatewayError(`The pairing relay refused to give a code (${said.slice(0, 200)})`, 'relay_refused');
  }
  const parsed = relayCodeFormat.parse(typeof body.code === 'string' ? body.code : '');
  const pairingUrl = typeof body.pairing_url === 'string' ? body.pairing_url : '';
  const redirectUrl = typeof body.redirect_url === 'string' ? body.redirect_url : '';
  if (!parsed.ok || !/^https?:\/\//.test(pairingUrl) || !/^https?:\/\//.test(redirectUrl)) {
    throw new BadGatewayError('The pairing relay answered without a usable code', 'relay_bad_answer');
  }
  return { code: parsed.code, pairingUrl, redirectUrl };
}

/** A relay failure's message completed with what it meant for the caller's request. */
export function withConsequence(error: unknown, consequence: string): unknown {
  return error instanceof BadGatewayError ? new BadGatewayError(`${error.message}; ${consequence}`, error.code) : error;
}
