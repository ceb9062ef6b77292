import type { PairgateError } from '../../core/errors.js';
import { waitWords } from '../../web/duration-words.js';
import type { Lang } from '../accounts/i18n.js';
import { installTranslator } from './install-i18n.js';
import { LinkTokensWaitingError, TooManyLinkTokensError } from './link-tokens.js';

/** What a page knows of the form that was refused, for the refusals whose words name it. */
export interface RefusalFacts {
  /** The connector's name for people (`Mattermost`). */
  connector?: string;
  /** The organization's name. */
  org?: string;
  /** Where admins set up a chat installation (the integrations page, full address). */
  setUpAt?: string;
}

/** Refusals whose words name the connector, the organization and where to set up. */
const NAMING_REFUSALS = new Set(['installation_not_found', 'installation_not_installed']);

/**
 * What a refusal of a form of the integrations pages says, in the page's language `lang`. The
 * errors carry English messages, written for the API and the chat; a page says this door's words
 * for the codes its forms meet (`install.error.<code>`, filled with `facts`), the accounts door's
 * for the shared ones (`error.<code>`), and the error's own message for any other.
 */
export function refusalText(error: PairgateError, lang: Lang, facts: RefusalFacts = {}): string {
  const t = installTranslator(lang);
  const retryAfter = Number(error.details?.retryAfterSeconds);
  const wait = retryAfter > 0 ? waitWords(retryAfter, lang) : undefined;
  if (wait !== undefined) {
    if (error instanceof TooManyLinkTokensError) return t(`install.error.too_many_link_tokens.${error.holder}`, { max: error.max, wait });
    if (error instanceof LinkTokensWaitingError) return t('install.error.link_tokens_waiting', { wait });
    if (error.code === 'rate_limited') return t('error.rate_limitedWait', { wait });
  }
  if (NAMING_REFUSALS.has(error.code)) {
    const { connector, org, setUpAt } = facts;
    // Without the facts the words need, the error's own message says them.
    return connector && org && setUpAt ? t(`install.error.${error.code}`, { connector, org, url: setUpAt }) : error.message;
  }
  for (const key of [`install.error.${error.code}`, `error.${error.code}`]) {
    const translated = t(key);
    if (translated !== key) return translated;
  }
  return error.message;
}
