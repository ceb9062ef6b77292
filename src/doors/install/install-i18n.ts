import { frenchCatalogue } from '../accounts/french-spacing.js';
import { translator, type Lang } from '../accounts/i18n.js';

/**
 * The integrations page's own messages, in the languages of the account pages (English and
 * French). Keys not here (navigation, errors) come from the accounts catalog.
 */
const en = {
  'install.title': 'Organizations and chat',
  'install.intro': 'Install pairgate into your chat workspace, and link your chat account to this pairgate account.',
  'install.none': 'You are not a member of any organization yet.',
  'install.create': 'Create an organization',
  'install.orgName': 'Organization name',
  'install.createSubmit': 'Create',
  'install.role': 'Your role: {role}',
  'install.members': 'Members',
  'install.addMember': 'Add a member',
  'install.username': 'Username',
  'install.roleLabel': 'Role',
  'install.addSubmit': 'Add',
  'install.setupTitle': 'Chat installations',
  'install.setup': 'Set up {connector}',
  'install.setupNote': 'A new setup replaces the previous one: its secret stops working.',
  'install.installed': '{connector}: installed on {site}',
  'install.pending': '{connector}: set up, waiting to be installed until {until}',
  'install.linkTitle': 'Link your chat account',
  'install.linkToken': 'Create a {connector} link token',
  'install.notInstalled': 'No chat is installed in this organization yet. Ask an admin of the organization to install pairgate in your chat; then you can link your chat account here.',
  'install.notInstalledAdmin': 'No chat is installed in this organization yet: set one up above and run its install command in the chat; then members can link their chat accounts here.',
  'install.linkedAs': '{connector}: your chat account {name} is linked, since {time}',
  'install.setupDoneTitle': 'Set up {connector}',
  'install.setupDoneIntro': 'Copy the secret now: it is shown only once. Then, in {connector}, run the install command as a system admin and paste the secret when asked.',
  'install.expires': 'Expires unless installed: {time}',
  'install.loopbackWarning': 'These links name {url}, which only this machine reaches: a {connector} server elsewhere cannot fetch them. Set PAIRGATE_PUBLIC_URL to the address {connector} reaches pairgate at, restart pairgate and set up again.',
  'install.tokenTitle': 'Your link token',
  'install.tokenIntro': 'In your chat ({connector}), run this command within {lifetime}. The token works once.',
  'install.back': 'Back to the organizations',
  'install.created': 'The organization was created.',
  'install.added': 'The member was added.',
  'install.deleteButton': 'Delete this organization',
  'install.deleteTitle': 'Delete {name}',
  'install.deleteIntro': 'Deleting the organization {name} removes, at once and for good:',
  'install.deleteMembers': 'its list of members ({count}); their pairgate accounts stay',
  'install.deleteInstallations': 'its chat installations ({count}), with their secrets and bot tokens: pairgate refuses their calls from then on, so uninstall the pairgate app from the chat as well',
  'install.deleteLinks': 'the links between chat users and pairgate accounts ({count})',
  'install.deleteTokens': 'its link tokens not used yet: they no longer link anything',
  'install.deleteConfirm': 'To confirm, type the name of the organization: {name}',
  'install.deleteSubmit': 'Delete it for good',
  'install.deleteCancel': 'Keep it',
  'install.deleteMismatch': 'This is not the name of the organization. Type it exactly as shown, capitals included.',
  'install.deleted': 'The organization was deleted.',
  'install.role.admin': 'admin',
  'install.role.member': 'member',
  'install.error.user_not_found': 'No account has this username.',
  'install.error.already_member': 'This account is already a member.',
  'install.error.invalid_org_name': 'The organization name must have 1 to 100 characters, without control characters.',
} as const;

type InstallKey = keyof typeof en;

// Written with plain spaces; frenchCatalogue makes those before : ; ? ! and inside « » no-break.
const fr = frenchCatalogue<InstallKey>({
  'install.title': 'Organisations et messagerie',
  'install.intro': 'Installez pairgate dans votre messagerie d\'équipe et liez votre compte de messagerie à ce compte pairgate.',
  'install.none': 'Vous n\'êtes encore membre d\'aucune organisation.',
  'install.create': 'Créer une organisation',
  'install.orgName': 'Nom de l\'organisation',
  'install.createSubmit': 'Créer',
  'install.role': 'Votre rôle : {role}',
  'install.members': 'Membres',
  'install.addMember': 'Ajouter un membre',
  'install.username': 'Nom d\'utilisateur',
  'install.roleLabel': 'Rôle',
  'install.addSubmit': 'Ajouter',
  'install.setupTitle': 'Installations de messagerie',
  'install.setup': 'Configurer {connector}',
  'install.setupNote': 'Une nouvelle configuration remplace la précédente : son secret cesse de fonctionner.',
  'install.installed': '{connector} : installé sur {site}',
  'install.pending': '{connector} : configuré, en attente d\'installation jusqu\'au {until}',
  'install.linkTitle': 'Lier votre compte de messagerie',
  'install.linkToken': 'Créer un jeton de liaison {connector}',
  'install.notInstalled': 'Aucune messagerie n\'est encore installée dans cette organisation. Demandez à un administrateur de l\'organisation d\'installer pairgate dans votre messagerie ; vous pourrez ensuite lier votre compte de messagerie ici.',
  'install.notInstalledAdmin': 'Aucune messagerie n\'est encore installée dans cette organisation : configurez-en une ci-dessus et lancez sa commande d\'installation dans la messagerie ; les membres pourront ensuite lier leur compte de messagerie ici.',
  'install.linkedAs': '{connector} : votre compte de messagerie {name} est lié, depuis le {time}',
  'install.setupDoneTitle': 'Configurer {connector}',
  'install.setupDoneIntro': 'Copiez le secret maintenant : il n\'est montré qu\'une fois. Puis, dans {connector}, lancez la commande d\'installation en administrateur système et collez le secret quand il est demandé.',
  'install.expires': 'Expire s\'il n\'est pas installé : {time}',
  'install.loopbackWarning': 'Ces liens nomment {url}, que seule cette machine atteint : un serveur {connector} ailleurs ne peut pas les lire. Donnez à PAIRGATE_PUBLIC_URL l\'adresse à laquelle {connector} atteint pairgate, redémarrez pairgate et configurez à nouveau.',
  'install.tokenTitle': 'Votre jeton de liaison',
  'install.tokenIntro': 'Dans votre messagerie ({connector}), lancez cette commande dans un délai de {lifetime}. Le jeton ne sert qu\'une fois.',
  'install.back': 'Retour aux organisations',
  'install.created': 'L\'organisation a été créée.',
  'install.added': 'Le membre a été ajouté.',
  'install.deleteButton': 'Supprimer cette organisation',
  'install.deleteTitle': 'Supprimer {name}',
  'install.deleteIntro': 'Supprimer l\'organisation {name} retire, aussitôt et pour de bon :',
  'install.deleteMembers': 'sa liste de membres ({count}) ; leurs comptes pairgate restent',
  'install.deleteInstallations': 'ses installations de messagerie ({count}), avec leurs secrets et jetons de bot : pairgate refuse ensuite leurs appels, désinstallez donc aussi l\'application pairgate de la messagerie',
  'install.deleteLinks': 'les liaisons entre comptes de messagerie et comptes pairgate ({count})',
  'install.deleteTokens': 'ses jetons de liaison pas encore utilisés : ils ne lient plus rien',
  'install.deleteConfirm': 'Pour confirmer, tapez le nom de l\'organisation : {name}',
  'install.deleteSubmit': 'La supprimer pour de bon',
  'install.deleteCancel': 'La garder',
  'install.deleteMismatch': 'Ce n\'est pas le nom de l\'organisation. Tapez-le exactement comme affiché, majuscules comprises.',
  'install.deleted': 'L\'organisation a été supprimée.',
  'install.role.admin': 'administrateur',
  'install.role.member': 'membre',
  'install.error.user_not_found': 'Aucun compte n\'a ce nom d\'utilisateur.',
  'install.error.already_member': 'Ce compte est déjà membre.',
  'install.error.invalid_org_name': 'Le nom de l\'organisation doit avoir 1 à 100 caractères, sans caractères de contrôle.',
});

const CATALOG: Record<Lang, Record<InstallKey, string>> = { en, fr };

/** A translator for the integrations pages: this door's keys first, then the accounts catalog. */
export function installTranslator(lang: Lang): (key: string, params?: Record<string, unknown>) => string {
  const shared = translator(lang);
  return (key, params) => {
    const template = CATALOG[lang][key as InstallKey] ?? en[key as InstallKey];
    if (template === undefined) return shared(key, params);
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
  };
}
