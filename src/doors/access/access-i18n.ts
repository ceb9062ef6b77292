import { frenchCatalogue } from '../accounts/french-spacing.js';
import { doorTranslator, type Lang, type Translate } from '../accounts/i18n.js';
import { spanWords } from '../../web/duration-words.js';

/**
 * The access pages' own messages, in the languages of the account pages (English and French).
 * Keys not here (sign-in, consent, navigation) come from the accounts catalog.
 */
const en = {
  // A sentence of its own: the consent screen's "asks for access to your account, to:" introduces
  // the list of permissions, which the sign-in form does not show.
  'access.signinIntro': '{app} asks for access to your account. Sign in to continue.',
  // The register and reset pages on the way back to the auth page (`access-flow-intro.ts`): they
  // add what comes next themselves.
  'access.flowIntro': '{app} asks for access to your account.',
  // The ERROR outcomes, said to the person with what to do (the app reads the English `message`
  // and `detail` of the poll).
  'access.error.too_many_accesses': 'The access could not be granted: your account has reached the number of app accesses this server allows. Revoke one you no longer use, then start again from the app.',
  'access.error.internal_error': 'The access could not be granted: the server could not store it. Start again from the app in a moment.',
  'access.manage': 'Your app accesses',
  // The way out of an auth page that names no request (`homeLink`).
  'access.home': 'Go to the home page',
  'access.lifetime': 'This access ends {duration} after you accept.',
  'access.about': 'about {duration}',
  // Beside each access on the accesses page: its tokens, one per sign-in of the app (a reinstall, a
  // second browser), and when the newest was made. No sign-in only for a moment: an accept that lost
  // withdraws its token before it deletes the access it made.
  'accesses.signIns.none': 'No sign-in',
  'accesses.signIns.one': '1 sign-in, on {date} UTC',
  'accesses.signIns.many': '{count} sign-ins, the last on {date} UTC',
  // What a new password disconnected, in the account page's sentence ("We also disconnected 3 devices and 2 apps.").
  'accesses.count.one': '{count} app',
  'accesses.count.other': '{count} apps',
} as const;

type AccessKey = keyof typeof en;

// Written with plain spaces; frenchCatalogue makes those before : ; ? ! and inside « » no-break.
const fr = frenchCatalogue<AccessKey>({
  'access.signinIntro': '{app} demande un accès à votre compte. Connectez-vous pour continuer.',
  'access.flowIntro': '{app} demande un accès à votre compte.',
  'access.error.too_many_accesses': 'L’accès n’a pas pu être accordé : votre compte a atteint le nombre d’accès d’applications que ce serveur permet. Révoquez-en un que vous n’utilisez plus, puis recommencez depuis l’application.',
  'access.error.internal_error': 'L’accès n’a pas pu être accordé : le serveur n’a pas pu l’enregistrer. Recommencez depuis l’application dans un moment.',
  'access.manage': 'Vos accès des applications',
  'access.home': 'Aller à la page d’accueil',
  'access.lifetime': 'Cet accès prend fin {duration} après votre accord.',
  'access.about': 'environ {duration}',
  'accesses.signIns.none': 'Aucune connexion',
  'accesses.signIns.one': '1 connexion, le {date} UTC',
  'accesses.signIns.many': '{count} connexions, la dernière le {date} UTC',
  'accesses.count.one': '{count} application',
  'accesses.count.other': '{count} applications',
});

const CATALOG: Record<Lang, Record<AccessKey, string>> = { en, fr };

/** Whether this door has its own words for `key` (an ERROR outcome's id, say). */
export function hasAccessMessage(key: string): boolean {
  return key in en;
}

/** A translator for the access pages: this door's keys first, then the accounts catalog. */
export function accessTranslator(lang: Lang): Translate {
  return doorTranslator(CATALOG, lang);
}

/**
 * A lifetime in seconds said to people in the largest unit it reaches ("2 days", "about 3 hours",
 * "1 minute" for less than one): exact when it is a whole number of that unit, "about" otherwise.
 */
export function lifetimeText(seconds: number, lang: Lang, t: (key: string, params?: Record<string, unknown>) => string): string {
  const { words, exact } = spanWords(seconds, lang);
  return exact ? words : t('access.about', { duration: words });
}
