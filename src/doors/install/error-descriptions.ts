import { BODY_UNREADABLE, errorView } from '../../server/openapi-responses.js';

/**
 * What the OpenAPI document says of the install door's error answers: for each route and status,
 * the machine codes that route can answer there, and when. @fastify/swagger reads a response's
 * description off its schema and says "Default Response" without one, so each status gets a
 * schema of its own here, with the properties every error of it is serialized with.
 */

// A route's own 400 hides the shared one, whose codes for a body that cannot be read are named here again.
const CSRF = '`csrf_failed`: a browser says the request comes from a page of another site (Sec-Fetch-Site or Origin)';
const PERMISSION = '`permission_denied`: you are a member, but your role does not allow this';
const NOT_A_MEMBER = '`organization_not_found`: no organization has this id, or you are not one of its members';
// Setups and link tokens act in the organization `org_id` names, or in your only one.
// An account belongs to at most PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT organizations.
const TOO_MANY_ORGS = (whose: string) => `\`too_many_organizations\`: ${whose} belongs to as many organizations as an account may (\`PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT\`, the answer's \`max\`) and must leave one first`;
const CHOSEN_ORG = '`organization_not_found`: you are not a member of the organization `org_id` names (of any, when it names none), or it was deleted meanwhile';

/** The documented error answers of the organization and integration routes (`{error, message}`). */
export const InstallApiErrors = {
  /** Every route: they all need a session. */
  signIn: errorView('`sign_in_required`: no session cookie, or its session has ended or expired; sign in first.'),
  createOrg400: errorView(`\`invalid_org_name\`: the name is empty once trimmed, over 100 characters, or holds a control or text-direction character; \`validation_failed\`: no \`name\`, or not a string of at most 1000 characters; ${BODY_UNREADABLE}.`),
  createOrg403: errorView(`${CSRF}.`),
  members404: errorView(`${NOT_A_MEMBER}.`),
  createOrg409: errorView(`${TOO_MANY_ORGS('your account')}.`),
  invite400: errorView(`\`invalid_username\`: no account could have this username (5 to 60 lower-case letters, digits and hyphens, starting and ending with a letter or digit); \`validation_failed\`: no \`username\`, or a role other than \`admin\` or \`member\`; ${BODY_UNREADABLE}.`),
  invite403: errorView(`${CSRF}; ${PERMISSION} (admins invite members).`),
  invite404: errorView(`${NOT_A_MEMBER} (or it was deleted meanwhile). Never for the username: an invitation of a name no account has is answered as any other.`),
  invite409: errorView('`already_member`: this username is a member of the organization already (as its list of members shows); `invitation_declined`: its account declined, within `PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS`, an invitation from this organization or one you sent (`declined_from`: `organization` or `inviter`, `declined_at`, `invite_again_after`), and has not allowed invitations again; `too_many_invitations`: the organization has as many pending invitations as it may (`PAIRGATE_INSTALL_MAX_PENDING_INVITATIONS_PER_ORGANIZATION`, the answer\'s `max`): withdraw some, or wait until they are answered or expire.'),
  invitations403: errorView(`${CSRF}; ${PERMISSION} (admins see and withdraw invitations).`),
  withdraw404: errorView(`${NOT_A_MEMBER}; \`invitation_not_found\`: the organization has no pending invitation for this username.`),
  answer403: errorView(`${CSRF}.`),
  answer404: errorView('`invitation_not_found`: you have no pending invitation with this id (accepted, declined, withdrawn or expired already, or it is someone else\'s: an invitation is answered by its invitee only).'),
  decline404: errorView('`decline_not_found`: you have no remembered decline with this id (you allowed invitations again already, its memory lapsed, or it is someone else\'s).'),
  accept409: errorView(`${TOO_MANY_ORGS('your account')} (the invitation is kept: accept it once you left one); \`already_member\`: you are a member of the organization already (the invitation is gone).`),
  accept410: errorView('`invitation_withdrawn`: whoever sent it no longer administers the organization; the invitation is gone, ask an admin to invite you again.'),
  removeMember403: errorView(`${CSRF}; ${PERMISSION} (admins remove others; anyone may remove themselves).`),
  removeMember404: errorView(`${NOT_A_MEMBER}; \`member_not_found\`: no member of the organization has this username.`),
  removeMember409: errorView('`last_admin`: this is the organization\'s last admin; make another member admin first (or invite one as admin and wait for them to accept), or delete the organization.'),
  setRole403: errorView(`${CSRF}; ${PERMISSION} (admins change roles).`),
  setRole404: errorView(`${NOT_A_MEMBER} (or it was deleted meanwhile); \`member_not_found\`: no member of the organization has this username.`),
  setRole409: errorView('`last_admin`: the member is the organization\'s last admin and would become a plain member; make another member admin first.'),
  deleteOrg403: errorView(`${CSRF}; ${PERMISSION} (admins delete the organization).`),
  deleteOrg404: errorView(`${NOT_A_MEMBER} (or it was deleted meanwhile).`),
  setup403: errorView(`${CSRF}; ${PERMISSION} (admins set up chats).`),
  setup404: errorView(`${CHOSEN_ORG}.`),
  // Every role may make link tokens: no `permission_denied` here.
  linkToken403: errorView(`${CSRF}.`),
  linkToken404: errorView(`${CHOSEN_ORG}; \`installation_not_found\`: pairgate is not installed in this chat for the organization (never set up, or uninstalled, replaced or expired since): an admin sets it up and installs it first.`),
  linkToken409: errorView('`installation_not_installed`: pairgate is set up for this chat in the organization but not installed in it yet; an admin finishes the install as the setup said.'),
  linkToken429: errorView('`too_many_link_tokens`: your account or your network holds its share of live link tokens already (PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_USER, PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_IP); `rate_limited`: every place among the server\'s live link tokens is taken (PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS), or more than 30 requests a minute came from your network. `Retry-After` says when to try again.'),
};

/**
 * The codes the connectors' calls share (their installation's state, an install, the link
 * command), as phrases each connector puts in a description of its own error shape.
 */
export const CallCodes = {
  installationNotFound: '`installation_not_found`: pairgate has no installation with this id (never set up, or deleted since: uninstalled, replaced by a newer setup once that was installed, expired before its install, or its organization deleted)',
  notInstalled: '`installation_not_installed`: the setup is not installed yet (its install call comes first)',
  rotatedOrExpired: '`installation_rotated`: a newer setup replaced this installation, whose secret no longer works; `installation_expired`: the setup expired before it was installed',
  /** What an install call can meet once its signature and state checked out. */
  installGone: '`organization_not_found`: the installation\'s organization was deleted meanwhile',
  installConflicts: '`installation_site_mismatch`: installed already, from another chat server (set up again for this one); `installation_not_usable`: the setup was replaced or expired while it was being installed',
  /** What `link <token>` can answer once the call checked out (`ChatCommands.link`). */
  link403: '`not_a_member`: the account that made the link token is no longer a member of the organization (it left, was removed, or was deleted)',
  link404: '`link_token_unknown`: no live link token of this organization and chat is the one given (unknown, expired, or made for another organization or chat)',
  link409: '`link_token_used`: the link token was spent already',
  link410: '`link_token_installation_gone`: the link token was made through an earlier installation, uninstalled or replaced since',
} as const;

/**
 * The connectors' and the API's own codes at statuses whose answers the OpenAPI document takes from
 * the shared ones (route config `sharedAnswersAlso`), said as the shared answer's addition.
 */
export const SharedAnswerNotes = {
  callsTakeJson: 'these calls take JSON only: a form is refused too (`unsupported_media_type`).',
  siteUrlRefused: '`invalid_site_url`: the chat server\'s URL in the call is not an http(s) URL.',
  actingUserMissing: '`acting_user_missing`: the call does not carry `context.acting_user` (the bindings expand it).',
  linkTokenRefused: '`link_token_missing` (no token after `link`, or the help\'s `<token>` placeholder typed as it is) or `link_token_malformed` (what was typed cannot be a link token: too long, a character or a length no token has, a typo its check character catches); neither counts as a wrong guess, and the same call sent again is told the same.',
  wrongLinkTokens: '`rate_limited`: too many wrong link tokens this hour from this chat user, or in this installation (`Retry-After`).',
  orgIdRequired: '`org_id_required`: you are in several organizations; say which with `org_id`.',
  codeSpaceExhausted: '`code_space_exhausted`: no free link token could be drawn (the space is nearly full); try again shortly.',
} as const;
