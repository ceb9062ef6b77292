import { translator, type Lang } from '../accounts/i18n.js';

/**
 * The access pages' own messages, in the languages of the account pages (English and French).
 * Keys not here (sign-in, consent, navigation) come from the accounts catalog.
 */
const en = {
  // A sentence of its own: the consent screen's "asks for access to your account, to:" introduces
  // the list of permissions, which the sign-in form does not show.
  'access.signinIntro': '{app} asks for access to your account. Sign in to continue.',
} as const;

type AccessKey = keyof typeof en;

const fr: Record<AccessKey, string> = {
  'access.signinIntro': '{app} demande un accès à votre compte. Connectez-vous pour continuer.',
};

const CATALOG: Record<Lang, Record<AccessKey, string>> = { en, fr };

/** A translator for the access pages: this door's keys first, then the accounts catalog. */
export function accessTranslator(lang: Lang): (key: string, params?: Record<string, unknown>) => string {
  const shared = translator(lang);
  return (key, params) => {
    const template = CATALOG[lang][key as AccessKey] ?? en[key as AccessKey];
    if (template === undefined) return shared(key, params);
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
  };
}
