import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pages } from '../../web/pages.js';
import { languageSwitchUrl } from '../../web/page-language.js';
import { accountsOf, currentUser } from './accounts.js';
import { pageLocals, pickLang, type Lang } from './i18n.js';
import { clientHasGone } from './password-hashing.js';
import { logClientGone } from '../../server/logger.js';
import type { User } from './users.js';

/** Options of a page render. */
export interface PageOptions {
  status?: number;
  /** The signed-in user when the caller already knows it (null = nobody); looked up otherwise. */
  user?: User | null;
  /** The page's language when the caller already chose it. */
  lang?: Lang;
  /**
   * The language the page prefers over the browser's (the app's on the access door's pages), as
   * the caller gave it to `pickLang`: a `?lang=` naming it is not remembered as the person's choice.
   */
  preferredLang?: string | undefined;
}

/**
 * Renders an account or access page: the translator, the language switch, the signed-in user
 * (for the navigation) and whether registration is open (a closed server offers no "Create an
 * account" link that leads to a refusal) are added to `data`. Nothing is rendered, nor the user
 * looked up, for a client whose connection has closed (one that left while its password was
 * checked): nobody reads it, so it gets the status alone, no body.
 */
export async function renderPage(pages: Pages, request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown> = {}, options: PageOptions = {}): Promise<FastifyReply> {
  if (clientHasGone(request)) {
    logClientGone(request, reply, options.status ?? 200);
    return reply.code(options.status ?? 200).send();
  }
  const lang = options.lang ?? pickLang(request, options.preferredLang);
  const user = options.user === undefined ? await currentUser(request) : options.user;
  const locals = pageLocals(lang);
  const registrationOpen = accountsOf(request).parts.registration;
  return pages.render(request, reply, template, { ...locals, switchUrl: languageSwitchUrl(request, locals.otherLang), user, registrationOpen, ...data }, options.status ?? 200, options.preferredLang);
}
