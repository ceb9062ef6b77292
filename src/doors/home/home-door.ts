import type { FastifyRequest } from 'fastify';
import { currentUser } from '../accounts/accounts.js';
import { doorTranslator, pickLang } from '../accounts/i18n.js';
import { frenchCatalogue, frenchSpacing } from '../accounts/french-spacing.js';
import { languageSwitch, type PageLanguage } from '../../web/page-language.js';
import type { Door, DoorContext, HomeLink } from '../door.js';

/** The home page's own words; the links' come from the doors that offer them. */
const en = {
  'home.intro': 'Pairing with a person\u2019s approval: nothing is connected until someone says yes.',
  'home.docs.title': 'API documentation',
  'home.docs.text': 'Every endpoint, generated from the server\u2019s own schemas.',
  'home.account.signedIn': 'You are signed in as {name}: see and revoke the apps you gave access to.',
} as const;

/** A message key of the home page. */
type HomeKey = keyof typeof en;

// Written with plain spaces; frenchCatalogue makes those before : ; ? ! and inside « » no-break.
const fr = frenchCatalogue<HomeKey>({
  'home.intro': 'L’appairage avec l’accord d’une personne : rien n’est connecté tant que quelqu’un n’a pas dit oui.',
  'home.docs.title': 'Documentation de l’API',
  'home.docs.text': 'Chaque point d’accès, généré à partir des schémas du serveur lui-même.',
  'home.account.signedIn': 'Vous êtes connecté en tant que {name} : voyez et révoquez les applications auxquelles vous avez donné accès.',
});

const HOME_CATALOGUE = { en, fr };

/** The link to the API documentation, which the server itself serves. */
const DOCS_LINK: HomeLink = {
  order: 90,
  href: '/docs',
  title: en['home.docs.title'],
  text: en['home.docs.text'],
  translations: { fr: { title: fr['home.docs.title'], text: fr['home.docs.text'] } },
};

/**
 * `link` with its title and text in `lang` when its door gave them (French with its no-break
 * spaces), else in English. Its address stays bare: a language chosen with the switch is
 * remembered (page-language.ts), so the page it opens speaks it without `?lang=`.
 */
function inLanguage(link: HomeLink, lang: PageLanguage): HomeLink {
  const words = link.translations?.[lang];
  const typeset = lang === 'fr' ? frenchSpacing : (text: string) => text;
  const shown = words ? { title: typeset(words.title), text: typeset(words.text) } : { title: link.title, text: link.text };
  return { ...link, ...shown };
}

/** The links of the home page now, in `lang`: those the serving doors offer, then the API documentation. */
async function homeLinks(ctx: DoorContext, lang: PageLanguage): Promise<HomeLink[]> {
  const offered = await Promise.all(ctx.doors.map(async (door) => (door.homeLinks ? await door.homeLinks(ctx) : [])));
  return [...offered.flat(), DOCS_LINK].sort((a, b) => a.order - b.order).map((link) => inLanguage(link, lang));
}

/** Where the accounts door's "Your account" link leads: the account page, or sign-in first. */
const ACCOUNT_HREF = '/account';

/**
 * The account link as it reads to the visitor: its door's words say "Sign in to...", which is wrong
 * to someone signed in. To them it says who they are signed in as, and leads to the account page
 * (its address, `/account`, is that page once signed in). Other links are the same for everyone.
 */
async function forVisitor(request: FastifyRequest, links: HomeLink[], lang: PageLanguage): Promise<HomeLink[]> {
  const account = links.find((link) => link.href === ACCOUNT_HREF);
  if (!account) return links;
  // The accounts door may be off: then nothing knows sessions, and no one is signed in.
  const user = await currentUser(request).catch(() => undefined);
  if (!user) return links;
  const text = doorTranslator(HOME_CATALOGUE, lang)('home.account.signedIn', { name: user.username });
  return links.map((link) => (link === account ? { ...link, text } : link));
}

/**
 * The home page at `/`: where a person who opens the server's address can go next. Each door
 * offers its own pages (`Door.homeLinks`); a door that does not serve offers none. It speaks the
 * visitor's language as every page does (`?lang=`, then the switch's remembered choice, then
 * Accept-Language), with the same switch.
 */
export const homeDoor: Door = {
  name: 'home',
  async register(app, ctx) {
    app.get('/', { schema: { hide: true }, config: { page: true } }, async (request, reply) => {
      const lang = pickLang(request);
      const links = await forVisitor(request, await homeLinks(ctx, lang), lang);
      return ctx.pages.render(request, reply, 'home/home.njk', { ...languageSwitch(request, lang), t: doorTranslator(HOME_CATALOGUE, lang), links });
    });
  },
};
