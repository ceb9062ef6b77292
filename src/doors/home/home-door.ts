import type { Door, DoorContext, HomeLink } from '../door.js';

/** The link to the API documentation, which the server itself serves. */
const DOCS_LINK: HomeLink = { order: 90, href: '/docs', title: 'API documentation', text: 'Every endpoint, generated from the server’s own schemas.' };

/** The links of the home page now: those the serving doors offer, then the API documentation. */
async function homeLinks(ctx: DoorContext): Promise<HomeLink[]> {
  const offered = await Promise.all(ctx.doors.map(async (door) => (door.homeLinks ? await door.homeLinks(ctx) : [])));
  return [...offered.flat(), DOCS_LINK].sort((a, b) => a.order - b.order);
}

/**
 * The home page at `/`: where a person who opens the server's address can go next. Each door
 * offers its own pages (`Door.homeLinks`); a door that does not serve offers none.
 */
export const homeDoor: Door = {
  name: 'home',
  async register(app, ctx) {
    app.get('/', { schema: { hide: true }, config: { page: true } }, async (request, reply) => {
      const links = await homeLinks(ctx);
      return ctx.pages.render(request, reply, 'home/home.njk', { links });
    });
  },
};
