import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The agent token under the pairing code. The pairing info (`GET /pairing/:code`) must carry
 * AgentMSH, whose URL holds the agent token, yet the origin stores no token in clear. So the token
 * is sealed (AES-256-GCM) under a key derived (HKDF-SHA-256) from the pairing code's keyed hash
 * under `SEAL_KIND` (`GrantEngine.codeHash`: another value than the stored code hash), so whoever
 * holds the code can open it on this server, which is exactly who may read the pairing info, and a
 * copy of the database without the server's code key cannot guess its way in (the code has only
 * 30-35 bits). The token alone does not let an agent in; the session credential from the
 * confirmation is needed too.
 */

/** The kind under which the code is hashed into the sealing key's input (never stored). */
export const SEAL_KIND = 'support-token-seal';

function keyOf(codeKey: string, salt: string): Buffer {
  return Buffer.from(hkdfSync('sha256', codeKey, salt, 'pairgate support agent token', 32));
}

/** Seals `token` under `codeKey` (the code's hash under `SEAL_KIND`); `salt` binds it to one session. */
export function sealToken(token: string, codeKey: string, salt: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(codeKey, salt), iv);
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.');
}

/** Opens a sealed token with the code's key; undefined when the code or the seal is wrong. */
export function openToken(sealed: string, codeKey: string, salt: string): string | undefined {
  const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !body) return undefined;
  try {
    // The tag's whole 16 bytes (Node accepts a tag cut to 4 bytes otherwise).
    const decipher = createDecipheriv('aes-256-gcm', keyOf(codeKey, salt), iv, { authTagLength: 16 });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
