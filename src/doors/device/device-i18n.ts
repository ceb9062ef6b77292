import { frenchCatalogue } from '../accounts/french-spacing.js';
import { doorTranslator, type Lang, type Translate } from '../accounts/i18n.js';

/**
 * The device pages' own messages, in the languages of the account pages (English and French).
 * Keys not here (sign-in, navigation) come from the accounts catalog.
 */
const en = {
  'device.title': 'Connect a device',
  'device.intro': 'Enter the code shown on your device (TV, command line, kiosk…).',
  'device.code': 'Code',
  'device.checkCode': 'This code came with the link you opened. Continue only if your device shows this same code, {code}, and you started connecting it just now: if not, close this page.',
  'device.continue': 'Continue',
  'device.wrongCode': 'No device is waiting with this code. Check it and type it again: codes expire after a few minutes.',
  'device.limited': 'Too many wrong codes. Try again in {wait}.',
  'device.code_empty': 'Enter the code shown on your device.',
  'device.code_bad_character': '"{character}" (character {position}) cannot be in a code. Check the code and type it again.',
  'device.code_wrong_length': 'A code has 8 letters, not counting the dash; this one has {length}. Check it and type it again.',
  'device.signinIntro': 'Sign in to connect {client}.',
  'device.consentTitle': 'Connect {client}?',
  'device.asks': '{client} asks for access to your account.',
  'device.scopes': 'It asks for:',
  'device.noScope': 'Basic access, no particular scope.',
  'device.origin': 'Where the request came from',
  'device.ip': 'Address: {ip}',
  'device.userAgent': 'Software, as the device names itself (not checked): {userAgent}',
  'device.time': 'Time: {time}',
  'device.warning': 'Only approve if you started this on your own device just now. If not, deny: someone may be trying to get into your account.',
  'device.approve': 'Approve',
  'device.deny': 'Deny',
  'device.approved': '{client} is connected. You can return to your device.',
  'device.denied': 'You denied access to {client}. Nothing was connected.',
  'device.unknown': 'This request does not exist or has expired. Start again on your device.',
  'device.decided': 'This request has already been answered, and the device has the answer. Look at your device: if it is not connected, start again there.',
  'device.alreadyApproved': 'You already approved {client}: it is connected. You can return to your device.',
  'device.alreadyDenied': 'You already denied access to {client}. Nothing was connected.',
  'device.clientGone': 'The app that asked for this is no longer registered on this server, so it cannot be connected. Nothing was changed.',
  'device.scopeWithdrawn': 'This server no longer lets {client} ask for the following access, which this request asks for:',
  'device.scopeWithdrawnAfter': 'So this request cannot be approved, and nothing was connected. Start again on your device.',
  'devices.title': 'Connected devices',
  'devices.intro': 'Devices you approved with a code. Disconnect any you do not recognise: it loses access at once.',
  'devices.none': 'No device is connected to your account.',
  'devices.connected': 'Connected {date} UTC',
  'devices.expires': 'until {date} UTC',
  'devices.scopes': 'Access it has',
  'devices.revoke': 'Disconnect',
  'devices.revoked': 'The device is disconnected.',
  // What a new password disconnected, in the account page's sentence ("We also disconnected 3 devices and 2 apps.").
  'devices.count.one': '{count} device',
  'devices.count.other': '{count} devices',
} as const;

type DeviceKey = keyof typeof en;

// Written with plain spaces; frenchCatalogue makes those before : ; ? ! and inside « » no-break.
const fr = frenchCatalogue<DeviceKey>({
  'device.title': 'Connecter un appareil',
  'device.intro': 'Saisissez le code affiché sur votre appareil (télévision, ligne de commande, borne…).',
  'device.code': 'Code',
  'device.checkCode': 'Ce code vient du lien que vous avez ouvert. Ne continuez que si votre appareil affiche ce même code, {code}, et que vous venez de lancer sa connexion : sinon, fermez cette page.',
  'device.continue': 'Continuer',
  'device.wrongCode': 'Aucun appareil n’attend avec ce code. Vérifiez-le et saisissez-le à nouveau : les codes expirent après quelques minutes.',
  'device.limited': 'Trop de codes erronés. Réessayez dans {wait}.',
  'device.code_empty': 'Saisissez le code affiché sur votre appareil.',
  'device.code_bad_character': '« {character} » (caractère {position}) ne peut pas figurer dans un code. Vérifiez le code et saisissez-le à nouveau.',
  'device.code_wrong_length': 'Un code a 8 lettres, sans compter le tiret ; celui-ci en a {length}. Vérifiez-le et saisissez-le à nouveau.',
  'device.signinIntro': 'Connectez-vous pour autoriser {client}.',
  'device.consentTitle': 'Connecter {client} ?',
  'device.asks': '{client} demande un accès à votre compte.',
  'device.scopes': 'Il demande :',
  'device.noScope': 'Un accès de base, sans portée particulière.',
  'device.origin': 'D’où vient la demande',
  'device.ip': 'Adresse : {ip}',
  'device.userAgent': 'Logiciel, tel que l’appareil se nomme (non vérifié) : {userAgent}',
  'device.time': 'Heure : {time}',
  'device.warning': 'N’approuvez que si vous venez de lancer cette connexion sur votre propre appareil. Sinon, refusez : quelqu’un essaie peut-être d’accéder à votre compte.',
  'device.approve': 'Approuver',
  'device.deny': 'Refuser',
  'device.approved': '{client} est connecté. Vous pouvez revenir à votre appareil.',
  'device.denied': 'Vous avez refusé l’accès à {client}. Rien n’a été connecté.',
  'device.unknown': 'Cette demande n’existe pas ou a expiré. Recommencez sur votre appareil.',
  'device.decided': 'Cette demande a déjà reçu une réponse, et l’appareil en dispose. Regardez votre appareil : s’il n’est pas connecté, recommencez depuis celui-ci.',
  'device.alreadyApproved': 'Vous avez déjà approuvé {client} : il est connecté. Vous pouvez revenir à votre appareil.',
  'device.alreadyDenied': 'Vous avez déjà refusé l’accès à {client}. Rien n’a été connecté.',
  'device.clientGone': 'L’application qui a fait cette demande n’est plus enregistrée sur ce serveur : elle ne peut pas être connectée. Rien n’a été modifié.',
  'device.scopeWithdrawn': 'Ce serveur ne permet plus à {client} de demander l’accès suivant, que cette demande contient :',
  'device.scopeWithdrawnAfter': 'Cette demande ne peut donc pas être approuvée, et rien n’a été connecté. Recommencez sur votre appareil.',
  'devices.title': 'Appareils connectés',
  'devices.intro': 'Les appareils que vous avez approuvés avec un code. Déconnectez ceux que vous ne reconnaissez pas : ils perdent l’accès aussitôt.',
  'devices.none': 'Aucun appareil n’est connecté à votre compte.',
  'devices.connected': 'Connecté le {date} UTC',
  'devices.expires': 'jusqu’au {date} UTC',
  'devices.scopes': 'Accès accordé',
  'devices.revoke': 'Déconnecter',
  'devices.revoked': 'L’appareil est déconnecté.',
  'devices.count.one': '{count} appareil',
  'devices.count.other': '{count} appareils',
});

const CATALOG: Record<Lang, Record<DeviceKey, string>> = { en, fr };

/** Every device message of `lang`, by key (for tests over a whole catalogue). */
export function deviceCatalogue(lang: Lang): Readonly<Record<DeviceKey, string>> {
  return CATALOG[lang];
}

/** A translator for the device pages: this door's keys first, then the accounts catalog. */
export function deviceTranslator(lang: Lang): Translate {
  return doorTranslator(CATALOG, lang);
}
