import type { FastifyRequest } from 'fastify';
import { askedLanguage, PAGE_LANGUAGES, requestedLanguage } from '../../web/page-language.js';
import { frenchCatalogue } from './french-spacing.js';

/**
 * The message catalog of the account and access pages, in English and French. Pages pick the
 * language from `?lang=`, then the choice remembered from the switch, then the browser's
 * Accept-Language, then English; `t(key, params)`
 * fills `{name}` placeholders (the template escapes the result).
 */

/** Languages the pages are translated into. */
export const LANGUAGES = PAGE_LANGUAGES;
/** One of LANGUAGES. */
export type Lang = (typeof LANGUAGES)[number];

const en = {
  'nav.accesses': 'App accesses',
  'nav.devices': 'Devices',
  'nav.signout': 'Sign out',
  'nav.password': 'Password',
  'password.title': 'Change your password',
  'password.current': 'Current password',
  'password.new': 'New password',
  'password.submit': 'Change the password',
  'password.done': 'Your password has been changed. Every other session of your account has been signed out.',
  'password.deleteLink': 'Delete your account',
  'password.disconnect': 'Also disconnect my devices and apps',
  'password.disconnectHint': 'Unchecked, the devices and apps connected to your account keep working. If someone else may know your password, leave it checked: what they connected is disconnected too.',
  'password.disconnected': 'We also disconnected {list}. Connect again those that are yours.',
  'password.disconnectedNone': 'No device or app was connected to your account.',
  'password.kept': 'Your devices and apps stay connected.',
  'delete.title': 'Delete your account',
  'delete.intro': 'This deletes your account, every app access you granted and their tokens: apps lose access at once. It cannot be undone.',
  'delete.password': 'Your password',
  'delete.submit': 'Delete my account',
  'delete.done': 'Your account has been deleted.',
  'nav.signedInAs': 'Signed in as {username}',
  'lang.other': 'Français',
  'signin.title': 'Sign in',
  'signin.intro': 'Sign in to continue.',
  'signin.login': 'Username or e-mail',
  'signin.password': 'Password',
  'signin.submit': 'Sign in',
  'signin.failed': 'Wrong username or password.',
  'signin.limited': 'Too many failed sign-ins. Try again later.',
  'signin.limitedWait': 'Too many failed sign-ins. Try again in {wait}.',
  'signin.limitedAccount': 'Too many failed sign-ins with this name. Try again in {wait}, or choose a new password with “Forgot your password?” below.',
  'signin.tooMany': 'Too many sign-ins from your network. Try again in {wait}.',
  'signin.register': 'Create an account',
  'signin.forgot': 'Forgot your password?',
  'signin.ended': 'Your session has ended: it went unused for a while, reached its time limit, or the password of your account was changed. Sign in again.',
  'register.title': 'Create an account',
  'register.username': 'Username',
  'register.usernameHint': '5 to 60 characters: a-z, 0-9 and -.',
  'register.email': 'E-mail',
  'register.password': 'Password',
  'register.passwordHint': 'At least 8 characters.',
  'register.submit': 'Create the account',
  'register.closed': 'Registration is closed on this server.',
  'register.signin': 'I already have an account',
  'register.continue': 'Once your account is created, you carry on where you left off.',
  'error.account_exists': 'This username or e-mail address is already registered.',
  'error.invalid_username': 'The username must be 5 to 60 characters of a-z, 0-9 and -, and not a reserved word.',
  'error.invalid_email': 'The e-mail address is not valid.',
  'error.invalid_email.hidden_characters': 'The e-mail address must not contain control, invisible or text-direction characters (such as U+0000, U+200B or U+202E) or more than three accents on one letter. Type it again rather than pasting it.',
  'error.invalid_password': 'The password must have 8 to 200 characters.',
  'error.current_password_wrong': 'The current password is wrong.',
  'error.rate_limited': 'Too many attempts. Try again later.',
  'error.rate_limitedWait': 'Too many attempts. Try again in {wait}.',
  'error.password_hashing_busy': 'The server is busy checking other passwords. Try again in a moment.',
  'error.password_hashing_network_busy': 'Many sign-ins from your network are already waiting to be checked. Try again in a moment.',
  'error.csrf_failed': 'This form has expired or did not come from this site. Reload the page and try again.',
  'reset.title': 'Reset your password',
  'reset.intro': 'Enter your username or e-mail. We will send a link to choose a new password.',
  'reset.login': 'Username or e-mail',
  'reset.submit': 'Send the link',
  'reset.sent': 'If an account matches, a link to reset its password has been sent to its e-mail address.',
  'reset.sentHelp': 'The link works for {lifetime}. No mail after a few minutes? Look in your spam folder, or check the name you typed and ask again.',
  'reset.newTitle': 'Choose a new password',
  'reset.doneTitle': 'Password changed',
  'reset.newPassword': 'New password',
  'reset.change': 'Change the password',
  'reset.invalid': 'This link is invalid, already used or expired. Ask for a new one.',
  'reset.done': 'Your password has been changed. Sign in with the new one.',
  'reset.continue': 'After choosing a new password, you sign in and carry on where you left off.',
  'mail.subject': 'Reset your password',
  'mail.body': 'Someone asked to reset the password of the account "{username}".\n\nTo choose a new password, open this link. It works once, for {lifetime}:\n\n{link}\n\nIf it was not you, ignore this mail: nothing changes.\n',
  'consent.title': 'Allow access?',
  'consent.asks': '{app} asks for access to your account, to:',
  'consent.update': 'This app already has access with other permissions; accepting replaces them.',
  'consent.description': 'What the app says about itself (not checked by this server)',
  'consent.accept': 'Accept',
  'consent.refuse': 'Refuse',
  'gate.hint': 'That click was not counted: move the pointer a little, then click again. (A click that lands before the pointer has moved over this page may have been meant for another window.)',
  'consent.device': 'Device: {device}',
  'consent.returnsTo': 'After you answer, you go back to {host}.',
  'consent.script': 'The name of this app is written in {script} letters, not Latin ones: it may look like the name of an app you know and be another.',
  'script.Cyrillic': 'Cyrillic',
  'script.Greek': 'Greek',
  'script.Armenian': 'Armenian',
  'script.Cherokee': 'Cherokee',
  'consent.again': '{app} asks again for the access it already has',
  'consent.againOnDevice': '{app} on {device} asks again for the access it already has',
  'level.read': 'read',
  'level.contribute': 'contribute to',
  'level.manage': 'manage',
  'level.create-only': 'create in',
  'perm.all': 'all data',
  'perm.stream': '{name} (stream "{streamId}")',
  'perm.tag': 'data tagged "{tag}"',
  'perm.feature': 'The app will not be allowed to use: {feature}',
  'done.title': 'Done',
  'done.accepted': 'Access granted to {app}. You can close this window.',
  'done.refused': 'Access refused to {app}. You can close this window.',
  'done.error': 'The access could not be granted: {message}',
  'done.alreadyAccepted': 'This request has already been answered: access was granted to {app}, and {app} has the answer. Go back to {app}, or close this window.',
  'done.alreadyRefused': 'This request has already been answered: access was refused to {app}, and {app} has the answer. To give it access, start again from the app.',
  'error.title': 'Something went wrong',
  'error.unknownKey': 'This request does not exist or has expired. Go back to the app and start again.',
  'error.decided': 'This request has already been answered, and the app has the answer. Go back to the app to see it.',
  'error.back': 'Back',
  'accesses.title': 'App accesses',
  'accesses.none': 'No app has access to your account.',
  'accesses.revoke': 'Revoke',
  'accesses.revoked': 'The access was revoked.',
  'accesses.granted': 'Granted {date}',
  'accesses.permissions': 'Permissions',
} as const;

/** A message key. */
export type MessageKey = keyof typeof en;

// Written with plain spaces; frenchCatalogue makes those before : ; ? ! and inside « » no-break.
const fr = frenchCatalogue<MessageKey>({
  'nav.accesses': 'Accès des applications',
  'nav.devices': 'Appareils',
  'nav.signout': 'Se déconnecter',
  'nav.password': 'Mot de passe',
  'password.title': 'Changer votre mot de passe',
  'password.current': 'Mot de passe actuel',
  'password.new': 'Nouveau mot de passe',
  'password.submit': 'Changer le mot de passe',
  'password.done': 'Votre mot de passe a été changé. Toutes les autres sessions de votre compte ont été déconnectées.',
  'password.deleteLink': 'Supprimer votre compte',
  'password.disconnect': 'Déconnecter aussi mes appareils et mes applications',
  'password.disconnectHint': 'Case décochée, les appareils et les applications connectés à votre compte continuent de fonctionner. Si quelqu’un d’autre connaît peut-être votre mot de passe, laissez-la cochée : ce qu’il a connecté est déconnecté aussi.',
  'password.disconnected': 'Nous avons aussi déconnecté {list}. Reconnectez ceux qui sont à vous.',
  'password.disconnectedNone': 'Aucun appareil ni aucune application n’était connecté à votre compte.',
  'password.kept': 'Vos appareils et vos applications restent connectés.',
  'delete.title': 'Supprimer votre compte',
  'delete.intro': 'Cela supprime votre compte, tous les accès que vous avez accordés aux applications et leurs jetons : les applications perdent l’accès immédiatement. C’est irréversible.',
  'delete.password': 'Votre mot de passe',
  'delete.submit': 'Supprimer mon compte',
  'delete.done': 'Votre compte a été supprimé.',
  'nav.signedInAs': 'Connecté en tant que {username}',
  'lang.other': 'English',
  'signin.title': 'Connexion',
  'signin.intro': 'Connectez-vous pour continuer.',
  'signin.login': 'Nom d’utilisateur ou e-mail',
  'signin.password': 'Mot de passe',
  'signin.submit': 'Se connecter',
  'signin.failed': 'Nom d’utilisateur ou mot de passe incorrect.',
  'signin.limited': 'Trop de connexions échouées. Réessayez plus tard.',
  'signin.limitedWait': 'Trop de connexions échouées. Réessayez dans {wait}.',
  'signin.limitedAccount': 'Trop de connexions échouées avec ce nom. Réessayez dans {wait}, ou choisissez un nouveau mot de passe avec « Mot de passe oublié ? » ci-dessous.',
  'signin.tooMany': 'Trop de connexions depuis votre réseau. Réessayez dans {wait}.',
  'signin.register': 'Créer un compte',
  'signin.forgot': 'Mot de passe oublié ?',
  'signin.ended': 'Votre session a pris fin : elle est restée inutilisée un moment, a atteint sa durée maximale, ou le mot de passe de votre compte a été changé. Connectez-vous à nouveau.',
  'register.title': 'Créer un compte',
  'register.username': 'Nom d’utilisateur',
  'register.usernameHint': '5 à 60 caractères : a-z, 0-9 et -.',
  'register.email': 'E-mail',
  'register.password': 'Mot de passe',
  'register.passwordHint': 'Au moins 8 caractères.',
  'register.submit': 'Créer le compte',
  'register.closed': 'L’inscription est fermée sur ce serveur.',
  'register.signin': 'J’ai déjà un compte',
  'register.continue': 'Une fois votre compte créé, vous reprenez là où vous en étiez.',
  'error.account_exists': 'Ce nom d’utilisateur ou cette adresse e-mail est déjà enregistré.',
  'error.invalid_username': 'Le nom d’utilisateur doit avoir 5 à 60 caractères parmi a-z, 0-9 et -, et ne pas être un mot réservé.',
  'error.invalid_email': 'L’adresse e-mail n’est pas valide.',
  'error.invalid_email.hidden_characters': 'L’adresse e-mail ne doit pas contenir de caractères de contrôle, invisibles ou de sens du texte (comme U+0000, U+200B ou U+202E) ni plus de trois accents sur une lettre. Tapez-la à nouveau plutôt que de la coller.',
  'error.invalid_password': 'Le mot de passe doit avoir 8 à 200 caractères.',
  'error.current_password_wrong': 'Le mot de passe actuel est incorrect.',
  'error.rate_limited': 'Trop de tentatives. Réessayez plus tard.',
  'error.rate_limitedWait': 'Trop de tentatives. Réessayez dans {wait}.',
  'error.password_hashing_busy': 'Le serveur est occupé à vérifier d’autres mots de passe. Réessayez dans un instant.',
  'error.password_hashing_network_busy': 'De nombreuses connexions depuis votre réseau attendent déjà d’être vérifiées. Réessayez dans un instant.',
  'error.csrf_failed': "Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et réessayez.",
  'reset.title': 'Réinitialiser le mot de passe',
  'reset.intro': 'Saisissez votre nom d’utilisateur ou votre e-mail. Nous enverrons un lien pour choisir un nouveau mot de passe.',
  'reset.login': 'Nom d’utilisateur ou e-mail',
  'reset.submit': 'Envoyer le lien',
  'reset.sent': 'Si un compte correspond, un lien de réinitialisation a été envoyé à son adresse e-mail.',
  'reset.sentHelp': 'Le lien fonctionne pendant {lifetime}. Pas de message après quelques minutes ? Regardez dans vos indésirables, ou vérifiez le nom saisi et demandez à nouveau.',
  'reset.newTitle': 'Choisir un nouveau mot de passe',
  'reset.doneTitle': 'Mot de passe changé',
  'reset.newPassword': 'Nouveau mot de passe',
  'reset.change': 'Changer le mot de passe',
  'reset.invalid': 'Ce lien est invalide, déjà utilisé ou expiré. Demandez-en un nouveau.',
  'reset.done': 'Votre mot de passe a été changé. Connectez-vous avec le nouveau.',
  'reset.continue': 'Après avoir choisi un nouveau mot de passe, vous vous connectez et reprenez là où vous en étiez.',
  'mail.subject': 'Réinitialisation de votre mot de passe',
  'mail.body': 'Quelqu’un a demandé à réinitialiser le mot de passe du compte « {username} ».\n\nPour choisir un nouveau mot de passe, ouvrez ce lien. Il fonctionne une seule fois, pendant {lifetime} :\n\n{link}\n\nSi ce n’était pas vous, ignorez ce message : rien ne change.\n',
  'consent.title': 'Autoriser l’accès ?',
  'consent.asks': '{app} demande un accès à votre compte, pour :',
  'consent.update': 'Cette application a déjà un accès avec d’autres permissions ; accepter les remplace.',
  'consent.description': 'Ce que l’application dit d’elle-même (non vérifié par ce serveur)',
  'consent.accept': 'Accepter',
  'consent.refuse': 'Refuser',
  'gate.hint': 'Ce clic n’a pas été pris en compte : bougez un peu le pointeur, puis cliquez de nouveau. (Un clic arrivé avant que le pointeur ne bouge sur cette page était peut-être destiné à une autre fenêtre.)',
  'consent.device': 'Appareil : {device}',
  'consent.returnsTo': 'Après votre réponse, vous revenez sur {host}.',
  'consent.script': 'Le nom de cette application est écrit en lettres {script}, pas en lettres latines : il peut ressembler au nom d’une application que vous connaissez et en être une autre.',
  'script.Cyrillic': 'cyrilliques',
  'script.Greek': 'grecques',
  'script.Armenian': 'arméniennes',
  'script.Cherokee': 'cherokees',
  'consent.again': '{app} demande à nouveau l’accès qu’elle a déjà',
  'consent.againOnDevice': '{app} sur {device} demande à nouveau l’accès qu’elle a déjà',
  'level.read': 'lire',
  'level.contribute': 'contribuer à',
  'level.manage': 'gérer',
  'level.create-only': 'créer dans',
  'perm.all': 'toutes les données',
  'perm.stream': '{name} (flux « {streamId} »)',
  'perm.tag': 'les données marquées « {tag} »',
  'perm.feature': 'L’application n’aura pas le droit d’utiliser : {feature}',
  'done.title': 'Terminé',
  'done.accepted': 'Accès accordé à {app}. Vous pouvez fermer cette fenêtre.',
  'done.refused': 'Accès refusé à {app}. Vous pouvez fermer cette fenêtre.',
  'done.error': 'L’accès n’a pas pu être accordé : {message}',
  'done.alreadyAccepted': 'Cette demande a déjà reçu une réponse : l’accès a été accordé à {app}, qui dispose de la réponse. Revenez à {app}, ou fermez cette fenêtre.',
  'done.alreadyRefused': 'Cette demande a déjà reçu une réponse : l’accès a été refusé à {app}, qui dispose de la réponse. Pour le lui accorder, recommencez depuis l’application.',
  'error.title': 'Un problème est survenu',
  'error.unknownKey': 'Cette demande n’existe pas ou a expiré. Revenez à l’application et recommencez.',
  'error.decided': 'Cette demande a déjà reçu une réponse, et l’application en dispose. Revenez à l’application pour la voir.',
  'error.back': 'Retour',
  'accesses.title': 'Accès des applications',
  'accesses.none': 'Aucune application n’a accès à votre compte.',
  'accesses.revoke': 'Révoquer',
  'accesses.revoked': 'L’accès a été révoqué.',
  'accesses.granted': 'Accordé le {date}',
  'accesses.permissions': 'Permissions',
});

const CATALOG: Record<Lang, Record<MessageKey, string>> = { en, fr };

/** Every message of `lang`, by key (for tests over a whole catalogue). */
export function catalogue(lang: Lang): Readonly<Record<MessageKey, string>> {
  return CATALOG[lang];
}

/** True for a supported language code. */
export function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** The language the request names itself (`?lang=`, or a form's `lang`), if any: the one to carry on to the next page. */
export const askedLang: (request: FastifyRequest) => Lang | undefined = askedLanguage;

/** The language of a request: `?lang=`, then the one remembered from the switch, then `preferred`, then Accept-Language, then English (one rule for every page: page-language.ts). */
export const pickLang: (request: FastifyRequest, preferred?: string) => Lang = requestedLanguage;

/**
 * The message `catalog` holds under `key`, if it holds one of its own: a key is sometimes made from
 * a request (a page's `?done=`), and `__proto__` or `constructor` must find no message, not an
 * object's inherited member.
 */
function messageOf(catalog: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(catalog, key) ? catalog[key] : undefined;
}

/** A translator for `lang`: unknown keys fall back to English, then to the key itself. */
export function translator(lang: Lang): Translate {
  return (key, params) => fill(messageOf(CATALOG[lang], key) ?? messageOf(en, key) ?? key, params);
}

/** A function that says a message by its key, with `{name}` placeholders filled from `params`. */
export type Translate = (key: string, params?: Record<string, unknown>) => string;

/** `template` with each `{name}` replaced by `params[name]`; a placeholder without a value stays as written. */
function fill(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
}

/**
 * A door's translator: its own catalogue first (in `lang`, else in English), then this door's
 * shared messages (sign-in, errors), so a door's pages say both with one function.
 */
export function doorTranslator<Key extends string>(catalog: Readonly<Record<Lang, Readonly<Record<Key, string>>>>, lang: Lang): Translate {
  const shared = translator(lang);
  return (key, params) => {
    const template = messageOf(catalog[lang], key) ?? messageOf(catalog.en, key);
    return template === undefined ? shared(key, params) : fill(template, params);
  };
}

/** Template data for a page in `lang`: the translator and the language switch. */
export function pageLocals(lang: Lang): { lang: Lang; t: ReturnType<typeof translator>; otherLang: Lang } {
  return { lang, t: translator(lang), otherLang: lang === 'en' ? 'fr' : 'en' };
}
