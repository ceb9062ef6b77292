import { packageVersion } from '../../../server/version.js';

/** The Mattermost app id of pairgate (3-32 of letters, digits, `-`, `_`, `.`). */
export const MATTERMOST_APP_ID = 'pairgate';

/** The paths of one installation's calls, relative to the manifest's `root_url`. */
export function callPath(installationId: string, call: string): string {
  return `/mattermost/${installationId}/${call}`;
}

/**
 * The Mattermost Apps manifest of installation `installationId`. Public: it names paths and the
 * base URL only. The installation id in every path tells pairgate which secret to check a call's
 * JWT with (Mattermost sends no key id).
 */
export function mattermostManifest(installationId: string, baseUrl: string) {
  return {
    app_id: MATTERMOST_APP_ID,
    version: packageVersion(),
    display_name: 'pairgate',
    // Shown to the admin who consents to the install: it says what the app does today, no more.
    description: 'Link your Mattermost account to your pairgate account with a one-time token: /pairgate link <token>.',
    homepage_url: baseUrl,
    requested_permissions: ['act_as_bot', 'act_as_user'],
    requested_locations: ['/command', '/in_post', '/post_menu'],
    on_install: { path: callPath(installationId, 'install'), expand: { app: 'all', acting_user: 'summary' } },
    // Called by `/apps uninstall pairgate` (only when the manifest names it): pairgate then forgets
    // the installation, so no link token is made for a workspace it is no longer in.
    on_uninstall: { path: callPath(installationId, 'uninstall'), expand: { acting_user: 'summary' } },
    bindings: { path: callPath(installationId, 'bindings') },
    http: { root_url: baseUrl, use_jwt: true },
  };
}
