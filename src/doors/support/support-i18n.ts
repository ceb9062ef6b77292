import type { PairgateError } from '../../core/errors.js';
import { waitWords } from '../../web/duration-words.js';
import { frenchCatalogue } from '../accounts/french-spacing.js';
import { doorTranslator, type Lang, type Translate } from '../accounts/i18n.js';

/**
 * The support door's pages in English and French: the relay's page where a person types the code,
 * the origin's confirmation page, its refusals, and the session page (whose script gets its words
 * from the page, `sessionScriptWords`). Keys not here (the language switch, the CSRF refusal) come
 * from the accounts catalogue. Machine codes and the JSON of the API stay English.
 */
const en = {
  'relay.title': 'Remote support',
  'relay.intro': 'Your supporter gave you a six-character code on the phone. Type it here.',
  'relay.code': 'Pairing code',
  'relay.continue': 'Continue',
  'relay.appBefore': 'Prefer an app? Run',
  'relay.appAfter': 'and type the same code.',
  'relay.notFound': 'No session has this code, or it has expired. Check the code, or ask your supporter for a new one.',
  'code.empty': 'Type the code your supporter gave you on the phone.',
  'code.malformed': 'This is not a code: a code has six letters and digits. Check it and type it again.',
  'code.tooManyWrong': 'Too many wrong codes from your network. Try again in {wait}.',
  'code.notWorking': 'This code does not work',
  'code.notFound': 'No session has this code, or it has expired. Ask your supporter for a new code.',
  'code.burned': 'This code was confirmed wrongly too often and no longer works. Ask your supporter for a new code.',
  'code.decisionInvalid': 'Answer with the page’s Confirm or Cancel button.',
  'code.usedTitle': 'This code was already used',
  'code.used': 'This code was confirmed already, and a code works only once. If you came back here from your support session, it is on the next page: press Forward, or go back to the tab where it is open. Otherwise, ask your supporter for a new code.',
  'code.declinedTitle': 'This code was declined',
  'code.declined': 'This code was declined, so nobody was given access, and it works no more. If you do want help, ask your supporter for a new code.',
  'code.answeredMeanwhile': 'This code was answered at the same moment somewhere else (in another tab, or by a second press of the button), and a code can be answered only once. If another tab of this browser shows your support session, use that one; otherwise ask your supporter for a new code.',
  'code.serverTroubleTitle': 'The server cannot answer just now',
  'code.serverTrouble': 'The server could not check this code just now; your code is not at fault. Wait a moment, then try again. If it happens again, tell your supporter.',
  'code.refused': 'This code cannot be used. Check it, or ask your supporter for a new code.',
  'confirm.title': 'Grant access?',
  'confirm.logo': '{company} logo',
  'confirm.logoNoName': 'Company logo',
  'confirm.question': 'Do you really want to grant access to {supporter}?',
  'confirm.questionCompany': 'Do you really want to grant access to {supporter} of {company}?',
  'confirm.note': 'Only confirm if you are on the phone with this person and asked for their help. The code expires',
  'confirm.lessThanMinute': 'in less than a minute',
  'confirm.oneMinute': 'in 1 minute',
  'confirm.minutes': 'in {minutes} minutes',
  'confirm.accept': 'Confirm',
  'confirm.decline': 'Cancel',
  'gate.hint': 'That click was not counted: move the pointer a little, then click again. (A click that lands before the pointer has moved over this page may have been meant for another window.)',
  'confirm.noscript': 'JavaScript is off in this browser, and the support session that follows this page needs it. Turn JavaScript on and reload this page before you confirm: a code can be confirmed only once.',
  'declined.title': 'Declined',
  'declined.message': 'Nobody was given access. You can close this page.',
  'ended.title': 'This support session has ended',
  'ended.message': 'The support session is over: it was ended, or it expired. If you still need help, call your supporter and ask for a new code.',
  'session.title': 'Support session',
  'session.with': 'With',
  'session.ofCompany': 'of {company}',
  'session.connecting': 'Connecting…',
  'session.noscript': 'This page needs JavaScript to hold the session with your supporter, and JavaScript is off in this browser. Turn it on, then reload this page: the session waits for you until it expires.',
  'session.conversation': 'Conversation',
  'session.message': 'Message',
  'session.send': 'Send',
  'session.end': 'End session',
  'session.says': '{who}: ',
  'session.you': 'You',
  'session.supporter': 'Supporter',
  'session.connected': 'Session connected. Your supporter can now help you.',
  'session.connectedAlone': 'Session connected. Your supporter is not here right now; what you write reaches them when they are.',
  'session.supporterLeft': 'Your supporter has left the session for now. They may come back until {time}; keep this page open to wait for them.',
  'session.untilEnd': 'the session ends',
  'session.supporterBack': 'Your supporter is back. They can help you now.',
  'session.supporterJoined': 'Your supporter has joined the session. They can help you now.',
  'session.youEnded': 'You ended the session. You can close this page.',
  'session.supporterEnded': 'Your supporter ended the session. You can close this page.',
  'session.expired': 'The session has expired. If you still need help, call your supporter.',
  'session.ended': 'The session has ended.',
  'session.refused': 'This page cannot join the session: it has ended or expired, or this tab’s key no longer works. If you still need help, call your supporter.',
  'session.otherTab': 'This session is open in another tab or window.',
  'session.lost': 'The connection to the supporter was lost. Reload this page to try again.',
  'session.reconnecting': 'The connection to the supporter was lost. Reconnecting…',
  'session.noKey': 'This tab does not hold the key to this session. Go back to the tab where you confirmed it; if it is closed, call your supporter.',
} as const;

/** A message key of the support pages. */
export type SupportKey = keyof typeof en;

// Written with plain spaces; frenchCatalogue makes those before : ; ? ! and inside « » no-break.
const fr = frenchCatalogue<SupportKey>({
  'relay.title': 'Assistance à distance',
  'relay.intro': 'Votre assistant vous a donné au téléphone un code de six caractères. Saisissez-le ici.',
  'relay.code': 'Code d’appairage',
  'relay.continue': 'Continuer',
  'relay.appBefore': 'Vous préférez une application ? Lancez',
  'relay.appAfter': 'et saisissez le même code.',
  'relay.notFound': 'Aucune session n’a ce code, ou il a expiré. Vérifiez le code, ou demandez-en un nouveau à votre assistant.',
  'code.empty': 'Saisissez le code que votre assistant vous a donné au téléphone.',
  'code.malformed': 'Ce n’est pas un code : un code a six lettres et chiffres. Vérifiez-le et saisissez-le à nouveau.',
  'code.tooManyWrong': 'Trop de codes erronés depuis votre réseau. Réessayez dans {wait}.',
  'code.notWorking': 'Ce code ne fonctionne pas',
  'code.notFound': 'Aucune session n’a ce code, ou il a expiré. Demandez un nouveau code à votre assistant.',
  'code.burned': 'Ce code a été confirmé à tort trop souvent et ne fonctionne plus. Demandez un nouveau code à votre assistant.',
  'code.decisionInvalid': 'Répondez avec le bouton Confirmer ou Annuler de la page.',
  'code.usedTitle': 'Ce code a déjà été utilisé',
  'code.used': 'Ce code a déjà été confirmé, et un code ne sert qu’une fois. Si vous êtes revenu ici depuis votre session d’assistance, elle est sur la page suivante : faites Suivant, ou revenez à l’onglet où elle est ouverte. Sinon, demandez un nouveau code à votre assistant.',
  'code.declinedTitle': 'Ce code a été refusé',
  'code.declined': 'Ce code a été refusé : personne n’a reçu d’accès, et il ne fonctionne plus. Si vous voulez de l’aide, demandez un nouveau code à votre assistant.',
  'code.answeredMeanwhile': 'Ce code a reçu une réponse au même moment ailleurs (dans un autre onglet, ou par un second appui sur le bouton), et un code ne reçoit qu’une réponse. Si un autre onglet de ce navigateur affiche votre session d’assistance, utilisez celui-ci ; sinon, demandez un nouveau code à votre assistant.',
  'code.serverTroubleTitle': 'Le serveur ne peut pas répondre pour le moment',
  'code.serverTrouble': 'Le serveur n’a pas pu vérifier ce code pour le moment ; votre code n’est pas en cause. Attendez un instant, puis réessayez. Si cela se reproduit, prévenez votre assistant.',
  'code.refused': 'Ce code ne peut pas être utilisé. Vérifiez-le, ou demandez un nouveau code à votre assistant.',
  'confirm.title': 'Autoriser l’accès ?',
  'confirm.logo': 'Logo de {company}',
  'confirm.logoNoName': 'Logo de l’entreprise',
  'confirm.question': 'Voulez-vous vraiment donner accès à {supporter} ?',
  'confirm.questionCompany': 'Voulez-vous vraiment donner accès à {supporter} de {company} ?',
  'confirm.note': 'Ne confirmez que si vous êtes au téléphone avec cette personne et lui avez demandé de l’aide. Le code expire',
  'confirm.lessThanMinute': 'dans moins d’une minute',
  'confirm.oneMinute': 'dans 1 minute',
  'confirm.minutes': 'dans {minutes} minutes',
  'confirm.accept': 'Confirmer',
  'confirm.decline': 'Annuler',
  'gate.hint': 'Ce clic n’a pas été pris en compte : bougez un peu le pointeur, puis cliquez de nouveau. (Un clic arrivé avant que le pointeur ne bouge sur cette page était peut-être destiné à une autre fenêtre.)',
  'confirm.noscript': 'JavaScript est désactivé dans ce navigateur, et la session d’assistance qui suit cette page en a besoin. Activez JavaScript et rechargez cette page avant de confirmer : un code ne peut être confirmé qu’une fois.',
  'declined.title': 'Refusé',
  'declined.message': 'Personne n’a reçu d’accès. Vous pouvez fermer cette page.',
  'ended.title': 'Cette session d’assistance est terminée',
  'ended.message': 'La session d’assistance est finie : elle a été terminée, ou elle a expiré. Si vous avez encore besoin d’aide, appelez votre assistant et demandez un nouveau code.',
  'session.title': 'Session d’assistance',
  'session.with': 'Avec',
  'session.ofCompany': 'de {company}',
  'session.connecting': 'Connexion…',
  'session.noscript': 'Cette page a besoin de JavaScript pour tenir la session avec votre assistant, et JavaScript est désactivé dans ce navigateur. Activez-le, puis rechargez cette page : la session vous attend jusqu’à son expiration.',
  'session.conversation': 'Conversation',
  'session.message': 'Message',
  'session.send': 'Envoyer',
  'session.end': 'Terminer la session',
  'session.says': '{who} : ',
  'session.you': 'Vous',
  'session.supporter': 'Assistant',
  'session.connected': 'Session connectée. Votre assistant peut maintenant vous aider.',
  'session.connectedAlone': 'Session connectée. Votre assistant n’est pas là pour le moment ; ce que vous écrivez lui parviendra à son retour.',
  'session.supporterLeft': 'Votre assistant a quitté la session pour le moment. Il peut revenir jusqu’à {time} ; gardez cette page ouverte pour l’attendre.',
  'session.untilEnd': 'la fin de la session',
  'session.supporterBack': 'Votre assistant est de retour. Il peut vous aider maintenant.',
  'session.supporterJoined': 'Votre assistant a rejoint la session. Il peut vous aider maintenant.',
  'session.youEnded': 'Vous avez terminé la session. Vous pouvez fermer cette page.',
  'session.supporterEnded': 'Votre assistant a terminé la session. Vous pouvez fermer cette page.',
  'session.expired': 'La session a expiré. Si vous avez encore besoin d’aide, appelez votre assistant.',
  'session.ended': 'La session est terminée.',
  'session.refused': 'Cette page ne peut pas rejoindre la session : elle est terminée ou a expiré, ou la clé de cet onglet ne fonctionne plus. Si vous avez encore besoin d’aide, appelez votre assistant.',
  'session.otherTab': 'Cette session est ouverte dans un autre onglet ou une autre fenêtre.',
  'session.lost': 'La connexion avec l’assistant a été perdue. Rechargez cette page pour réessayer.',
  'session.reconnecting': 'La connexion avec l’assistant a été perdue. Reconnexion…',
  'session.noKey': 'Cet onglet n’a pas la clé de cette session. Revenez à l’onglet où vous l’avez confirmée ; s’il est fermé, appelez votre assistant.',
});

const CATALOG: Record<Lang, Record<SupportKey, string>> = { en, fr };

/** Every support message of `lang`, by key (for tests over a whole catalogue). */
export function supportCatalogue(lang: Lang): Readonly<Record<SupportKey, string>> {
  return CATALOG[lang];
}

/** A translator for the support pages: this door's keys first, then the accounts catalogue. */
export function supportTranslator(lang: Lang): Translate {
  return doorTranslator(CATALOG, lang);
}

/** The messages the session page's script says, by the name it knows them by (given to it in the page). */
const SCRIPT_KEYS = [
  'connecting', 'says', 'you', 'supporter', 'connected', 'connectedAlone', 'supporterLeft', 'untilEnd', 'supporterBack', 'supporterJoined', 'youEnded',
  'supporterEnded', 'expired', 'ended', 'refused', 'otherTab', 'lost', 'reconnecting', 'noKey',
] as const;

/** The words of the session page's script in `lang` (support-session.js fills `{who}` and `{time}` itself). */
export function sessionScriptWords(lang: Lang): Record<(typeof SCRIPT_KEYS)[number], string> {
  return Object.fromEntries(SCRIPT_KEYS.map((key) => [key, CATALOG[lang][`session.${key}`]])) as Record<(typeof SCRIPT_KEYS)[number], string>;
}

/**
 * How long a code has left, as a person reads it: a clock time in UTC means nothing to most people
 * on the phone with their supporter, and the server cannot know their time zone.
 */
export function timeLeft(ms: number, lang: Lang = 'en'): string {
  const t = supportTranslator(lang);
  if (ms < 60_000) return t('confirm.lessThanMinute');
  const minutes = Math.floor(ms / 60_000);
  return minutes === 1 ? t('confirm.oneMinute') : t('confirm.minutes', { minutes });
}

/**
 * What a refused code look-up or decision says to a person, in `lang`: the malformed, unknown,
 * burned and rate-limited codes, a code answered at the same moment elsewhere (a second tab, a
 * double press: the state machine's 409), one that expired or went while being answered (404,
 * 410), a server in trouble (any 5xx: never the error's own words, which are English and for
 * programs), and any other refusal in general words, so a page never shows the English message.
 * `notFound` is the key of the unknown code's words (the relay's asks to check the code too).
 */
export function codeRefusalText(error: PairgateError, lang: Lang, notFound: SupportKey = 'code.notFound'): string {
  const t = supportTranslator(lang);
  if (error.code === 'code_not_found') return t(notFound);
  if (error.code === 'code_empty') return t('code.empty');
  if (error.code.startsWith('code_') && error.status === 400) return t('code.malformed');
  if (error.code === 'code_burned') return t('code.burned');
  if (error.code === 'decision_invalid') return t('code.decisionInvalid');
  if (error.code === 'csrf_failed') return t('error.csrf_failed');
  if (error.status === 429) {
    const seconds = typeof error.details?.retryAfterSeconds === 'number' ? error.details.retryAfterSeconds : 60;
    return t('code.tooManyWrong', { wait: waitWords(seconds, lang, 'minute') });
  }
  if (error.status === 409) return t('code.answeredMeanwhile');
  if (error.status === 404 || error.status === 410) return t(notFound);
  if (error.status >= 500) return t('code.serverTrouble');
  return t('code.refused');
}

/** The title of the page that says `error` (codeRefusalText): the code does not work, was used, or the server is in trouble. */
export function codeRefusalTitle(error: PairgateError, lang: Lang): string {
  const t = supportTranslator(lang);
  if (error.status === 409) return t('code.usedTitle');
  if (error.status >= 500) return t('code.serverTroubleTitle');
  return t('code.notWorking');
}
