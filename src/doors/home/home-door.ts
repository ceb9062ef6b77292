import type { Door } from '../door.js';
import { DeviceClientRegistry } from '../device/client-registry.js';
import { parseDeviceClients } from '../device/clients.js';

/** A link on the home page, shown when its door serves. */
interface HomeLink {
  href: string;
  title: string;
  text: string;
}

/**
 * The links of the home page for this configuration (a door that is off is not offered);
 * `deviceClients` says whether a device client is registered.
 */
function homeLinks(config: Record<string, unknown>, deviceClients: boolean): HomeLink[] {
  const links: HomeLink[] = [];
  if (config.PAIRGATE_RELAY_ENABLED !== false) {
    const prefix = String(config.PAIRGATE_RELAY_PREFIX ?? '/relay').replace(/\/+$/, '');
    links.push({ href: `${prefix}/`, title: 'Enter a support code', text: 'Someone on the phone gave you a code: type it to see who is asking before you let them in.' });
  }
  links.push({ href: '/account', title: 'Your account', text: 'Sign in to see and revoke the apps you gave access to.' });
  // Devices can ask only once a client is registered: before that, the page would lead nowhere.
  if (deviceClients) {
    links.push({ href: '/device', title: 'Connect a device', text: 'A TV, a command line or a kiosk shows a code: type it to let it use your account.' });
  }
  if (config.PAIRGATE_INSTALL_ENABLED !== false) {
    links.push({ href: '/integrations', title: 'Chat integrations', text: 'Organizations: set up Mattermost, and link your chat account to pairgate.' });
  }
  links.push({ href: '/boxes', title: 'Boxes on your network', text: 'Home boxes that announced themselves from your network.' });
  links.push({ href: '/docs', title: 'API documentation', text: 'Every endpoint, generated from the server’s own schemas.' });
  return links;
}

/** The home page at `/`: where a person who opens the server's address can go next. */
export const homeDoor: Door = {
  name: 'home',
  async register(app, ctx) {
    // `=== true`: the device door's keys are loaded (so are its tables) and it serves. Clients
    // registered through its admin API may appear or go at any time, on any node: asked per request.
    const deviceClients = ctx.config.PAIRGATE_DEVICE_ENABLED === true
      ? new DeviceClientRegistry(parseDeviceClients(String(ctx.config.PAIRGATE_DEVICE_CLIENTS ?? '')), ctx.stores.db)
      : undefined;
    app.get('/', { schema: { hide: true } }, async (request, reply) => {
      const links = homeLinks(ctx.config, (await deviceClients?.anyRegistered()) ?? false);
      return ctx.pages.render(request, reply, 'home/home.njk', { links });
    });
  },
};
