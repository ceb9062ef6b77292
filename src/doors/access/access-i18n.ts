import { translator, type Lang } from '../accounts/i18n.js';

/**
 * The access pages' own messages, in the languages of the account pages (English and French).
 * Keys not here (sign-in, consent, navigation) come from the accounts catalog.
 */
const en = {
  // A sentence of its own: the consent screen's "asks for access to your account, to:" introduces
  // the list of permissions, which the sign-in form does not show.
  'access.signinIntro': '{app} asks for access to your account. Sign in to continue.',
  // The ERROR outcomes, said to the person with what to do (the app reads the English `message`
  // and `detail` of the poll).
  'access.error.too_many_accesses': 'The access could not be granted: your account has reached the number of app accesses this server allows. Revoke one you no longer use, then start again from the app.',
  'access.error.internal_error': 'The access could not be granted: the server could not store it. Start again from the app in a moment.',
  'access.manage': 'Your app accesses',
} as const;

type AccessKey = keyof typeof en;

const fr: Record<AccessKey, string> = {
  'access.signinIntro': '{app} demande un accès à votre compte. Connectez-vous pour continuer.',
  'access.error.too_many_accesses': "L'accès n'a pas pu être accordé : votre compte a atteint le nombre d'accès d'applications que ce serveur permet. Révoquez-en un que vous n'utilisez plus, puis recommencez depuis l'application.",
  'access.error.internal_error': "L'accès n'a pas pu être accordé : le serveur n'a pas pu l'enregistrer. Recommencez depuis l'application dans un moment.",
  'access.manage': 'Vos accès des applications',
};

const CATALOG: Record<Lang, Record<AccessKey, string>> = { en, fr };

/** Whether this door has its own words for `key` (an ERROR outcome's id, say). */
export function hasAccessMessage(key: string): boolean {
  return key in en;
}

/** A translator for the access pages: this door's keys first, then the accounts catalog. */
export function accessTranslator(lang: Lang): (key: string, params?: Record<string, unknown>) => string {
  const shared = translator(lang);
  return (key, params) => {
    const template = CATALOG[lang][key as AccessKey] ?? en[key as AccessKey];
    if (template === undefined) return shared(key, params);
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
  };
}
