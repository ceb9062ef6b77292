import { Type } from 'typebox';
import { BEARER_SECRET_MIN_LENGTH } from '../../server/bearer-secret.js';

/** Configuration of the generic grant API (`/api/v1/grants`). */
export const grantsConfigSchema = Type.Object({
  PAIRGATE_GRANTS_ENABLED: Type.Boolean({ default: true, description: 'Serve the generic grant API at /api/v1/grants.' }),
  PAIRGATE_GRANTS_CODE_ALPHABET: Type.Union([Type.Literal('base32'), Type.Literal('base20'), Type.Literal('digits')], {
    default: 'base32',
    description: 'Alphabet of generic grant codes.',
  }),
  PAIRGATE_GRANTS_CODE_LENGTH: Type.Integer({ minimum: 4, maximum: 32, default: 8, description: 'Random characters in a generic grant code.' }),
  PAIRGATE_GRANTS_CODE_CHECK: Type.Boolean({ default: true, description: 'Append a check character that catches typos before any look-up.' }),
  PAIRGATE_GRANTS_CREATE_PER_MINUTE: Type.Integer({ minimum: 1, default: 120, description: 'Grant creations per client IP per minute.' }),
  PAIRGATE_GRANTS_CREATE_TOKEN: Type.String({ default: '', description: `A secret (at least ${BEARER_SECRET_MIN_LENGTH} characters, e.g. \`openssl rand -base64 32\`) that creating a grant requires, sent as \`Authorization: Bearer <secret>\` (\`pairgate grant create\` sends this variable when set); empty = anyone reaching the server may create grants. Looking codes up and deciding need no secret: the code is what the approver holds.` }),
  PAIRGATE_GRANTS_MAX_LIVE_PER_IP: Type.Integer({ minimum: 1, default: 100, description: 'Live grants one client IP (IPv6: /64) may hold at once, counted until each would expire, decided or not; beyond it 429 too_many_live_grants. No effect unless below PAIRGATE_MAX_LIVE_CODES.' }),
});
