/** Row types of the install door's tables, merged into the durable schema. Times are ms since the epoch. */

/** An organization: the unit that installs pairgate into a chat workspace. */
export interface OrganizationRow {
  id: string;
  name: string;
  created_at: number | string;
}

/** A member of an organization and its role (`admin` or `member`). */
export interface OrganizationMemberRow {
  org_id: string;
  user_id: string;
  role: string;
  created_at: number | string;
}

/**
 * An installation of one connector for one organization. Created by a setup (`pending`, with an
 * expiry), linked by the chat server's install callback (`installed`), invalidated by the next
 * setup (`rotated`), deleted once a newer setup is installed or a setup TTL after its rotation
 * (one never installed: at the setup after the one that rotated it).
 * Secrets are sealed under the server key (SecretBox), never in clear.
 */
export interface InstallationRow {
  id: string;
  org_id: string;
  connector: string;
  state: string;
  /** The shared secret the chat server signs with, sealed. */
  secret_sealed: string;
  created_at: number | string;
  /** When an un-installed setup stops being usable; null once installed. */
  expires_at: number | string | null;
  installed_at: number | string | null;
  site_url: string | null;
  bot_user_id: string | null;
  /** The bot's access token on the chat server, sealed; null when none was given, and once rotated. */
  bot_token_sealed: string | null;
  /** When a newer setup replaced it; null unless `rotated`. */
  rotated_at: number | string | null;
}

/** A chat user linked to a pairgate account, per organization and connector. */
export interface ChatLinkRow {
  org_id: string;
  connector: string;
  external_user_id: string;
  user_id: string;
  installation_id: string;
  external_username: string | null;
  linked_at: number | string;
}

/**
 * An invitation of a username into an organization, pending until its invitee accepts (a
 * membership) or declines it, an admin withdraws it, or it expires (then swept). `user_id` is the
 * account the username named when it was invited, null when it named none or that account already
 * held the most pending invitations it may: such an invitation is kept and shown to the
 * organization's admins like the others (so they learn nothing of the account), and reaches no one.
 */
export interface OrganizationInvitationRow {
  /** 128 random bits (base64url): what the invitee's accept and decline name. */
  id: string;
  org_id: string;
  /** The username invited, lower case, as typed. */
  username: string;
  user_id: string | null;
  /** The role accepting gives. */
  role: string;
  invited_by: string;
  created_at: number | string;
  expires_at: number | string;
}

/**
 * The memory of a declined invitation, kept `PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS` (then swept)
 * unless the account that declined lifts it: while it lasts, neither the organization nor the
 * inviter may invite that account again.
 */
export interface OrganizationInvitationDeclineRow {
  /** 128 random bits (base64url): what the account's lifting names. */
  id: string;
  /** The account that declined. */
  user_id: string;
  /** The organization it declined; null once that organization was deleted (its inviter is still remembered). */
  org_id: string | null;
  /** Who sent the declined invitation. */
  invited_by: string;
  declined_at: number | string;
  expires_at: number | string;
}

declare module '../../store/durable-schema.js' {
  interface Database {
    organizations: OrganizationRow;
    organization_members: OrganizationMemberRow;
    organization_invitations: OrganizationInvitationRow;
    organization_invitation_declines: OrganizationInvitationDeclineRow;
    chat_installations: InstallationRow;
    chat_links: ChatLinkRow;
  }
}
