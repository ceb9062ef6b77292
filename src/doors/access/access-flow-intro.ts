import type { GrantEngine } from '../../engine/grant-engine.js';
import type { FlowIntro } from '../accounts/flow-intro.js';
import { accessTranslator } from './access-i18n.js';
import { findAccessRequest, parseAccessKey, type AccessKey } from './access-key.js';

/** The key an auth page's path (`/access/auth?key=...`, a `next`) names, if it is one. */
export function authKeyOf(next: string): AccessKey | undefined {
  if (!next.startsWith('/access/auth?')) return undefined;
  const key = new URLSearchParams(next.slice('/access/auth?'.length)).get('key');
  return key ? parseAccessKey(key) : undefined;
}

/**
 * Who asks, for the register and reset pages a person reaches from the auth page's sign-in form
 * ("Demo asks for access to your account."), so someone creating an account on the way still reads
 * why. The app's name comes from the stored request the whole key (id and secret) names, never from
 * the address; nothing is said once the request is answered or gone.
 */
export function accessFlowIntro(engine: GrantEngine): FlowIntro {
  return async (_request, next, lang) => {
    const grant = await findAccessRequest(engine, authKeyOf(next));
    if (!grant || engine.stateOf(grant) !== 'pending') return undefined;
    return accessTranslator(lang)('access.flowIntro', { app: grant.request.requestingAppId });
  };
}
