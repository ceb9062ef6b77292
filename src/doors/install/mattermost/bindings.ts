import { callPath } from './manifest.js';

const expandActingUser = { acting_user: 'summary' } as const;

/**
 * The `/pairgate` command and its subcommands, each submitting to this installation's paths.
 * A binding has either a submit call or a form (Mattermost refuses both): `link` has a form with one positional `token` field, so `/pairgate link <token>` fills it in.
 */
export function mattermostBindings(installationId: string) {
  const submit = (call: string) => ({ path: callPath(installationId, call), expand: expandActingUser });
  return [{
    location: '/command',
    bindings: [{
      location: 'pairgate',
      label: 'pairgate',
      description: 'Link your chat account to pairgate',
      hint: '[link | unlink | status | help]',
      bindings: [
        {
          location: 'link',
          label: 'link',
          description: 'Link your pairgate account with a one-time token',
          hint: '<token>',
          form: {
            title: 'Link your pairgate account',
            fields: [{ name: 'token', type: 'text', label: 'token', description: 'The link token pairgate showed you', is_required: true, position: 1 }],
            submit: submit('link'),
          },
        },
        { location: 'unlink', label: 'unlink', description: 'Remove the link to your pairgate account', submit: submit('unlink') },
        { location: 'status', label: 'status', description: 'Which pairgate account you are linked to', submit: submit('status') },
        { location: 'help', label: 'help', description: 'The pairgate commands', submit: submit('help') },
      ],
    }],
  }];
}
