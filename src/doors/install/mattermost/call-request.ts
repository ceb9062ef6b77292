import { Type, type Static } from 'typebox';

/** Ids of Mattermost users and bots (26 lower-case base32 characters in practice; a little looser here). */
const MattermostId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** The acting user, as `expand: {acting_user: "summary"}` gives it. */
const ActingUser = Type.Object({
  id: MattermostId,
  username: Type.Optional(Type.String({ maxLength: 128 })),
}, { additionalProperties: true });

/**
 * A Mattermost Apps CallRequest, as far as pairgate reads it; other fields are allowed and
 * ignored. Lengths are bounded so hostile bodies are refused by validation (400), not by a crash.
 */
export const CallRequestSchema = Type.Object({
  path: Type.Optional(Type.String({ maxLength: 512 })),
  expand: Type.Optional(Type.Object({}, { additionalProperties: true })),
  context: Type.Object({
    app_id: Type.Optional(Type.String({ maxLength: 64 })),
    location: Type.Optional(Type.String({ maxLength: 256 })),
    acting_user: Type.Optional(ActingUser),
    acting_user_id: Type.Optional(MattermostId),
    mattermost_site_url: Type.Optional(Type.String({ maxLength: 2048 })),
    bot_user_id: Type.Optional(Type.String({ maxLength: 64 })),
    bot_access_token: Type.Optional(Type.String({ maxLength: 1024 })),
    app: Type.Optional(Type.Object({
      bot_user_id: Type.Optional(Type.String({ maxLength: 64 })),
      bot_access_token: Type.Optional(Type.String({ maxLength: 1024 })),
    }, { additionalProperties: true })),
  }, { additionalProperties: true }),
  values: Type.Optional(Type.Object({
    token: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  }, { additionalProperties: true })),
  raw_command: Type.Optional(Type.String({ maxLength: 4096 })),
}, { additionalProperties: true });

/** A CallRequest body. */
export type CallRequest = Static<typeof CallRequestSchema>;

/** The route parameter: the installation id. */
export const InstallationParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
