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
 * The origin's client of the relay: publishes `{"url": "<origin>/pairing"}` on PLEXUS_PAIRING_URL
 * and checks the answer. Any failure (down, slow, an error status, a malformed answer) is a
 * BadGatewayError, so the caller can undo what it made and answer 502; its message says what the
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
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
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
