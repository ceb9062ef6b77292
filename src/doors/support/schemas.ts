import { Type } from 'typebox';

/** Wire schemas of the support origin (Plexus's PascalCase JSON); OpenAPI is generated from them. */

/** Session ids: what the seed uses (`helping-joe`), safe in paths and `.msh` files, never a `:`. */
export const SESSION_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

export const CreateSessionBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: SESSION_ID_PATTERN, description: 'Session id (letters, digits, . _ -; up to 64); random when absent.' })),
    ttl: Type.Optional(Type.Integer({ minimum: 10, description: 'Session lifetime in seconds (at most PAIRGATE_SUPPORT_MAX_TTL).' })),
    username: Type.Optional(Type.String({ maxLength: 200, description: 'The session\'s own login (may read, attach to and end this session).' })),
    password: Type.Optional(Type.String({ maxLength: 200, description: 'Password of `username`; stored as a scrypt hash.' })),
    supporter_name: Type.Optional(Type.String({ maxLength: 200, description: 'Shown to the person before they confirm; required when pairing is on.' })),
    supporter_avatar: Type.Optional(Type.String({ maxLength: 2000, description: 'Public https URL of the supporter\'s picture; required when pairing is on.' })),
  },
  { additionalProperties: false },
);

export const AgentConfigView = Type.Object({
  ServerID: Type.String(),
  MeshName: Type.String(),
  MeshType: Type.Integer(),
  MeshID: Type.String(),
  MeshIDHex: Type.String(),
  MeshServer: Type.String({ description: 'WebSocket URL of the session channel for the agent.' }),
});

export const CreatedSessionView = Type.Object({
  ID: Type.String(),
  SessionURL: Type.String(),
  AgentMSH: Type.String({ description: 'URL of the agent configuration file.' }),
  AgentConfig: AgentConfigView,
  ExpiresAt: Type.String(),
  PairingCode: Type.Optional(Type.String({ description: 'The code to read out (when pairing is on).' })),
  PairingURL: Type.Optional(Type.String({ description: 'The relay URL of the code (original spelling).' })),
  PairingUrl: Type.Optional(Type.String({ description: 'The same value, as the seed\'s example spells it.' })),
});

export const SessionView = Type.Object({
  ID: Type.String(),
  State: Type.Union([Type.Literal('waiting'), Type.Literal('confirmed'), Type.Literal('connected'), Type.Literal('declined'), Type.Literal('expired')]),
  Version: Type.Integer({ description: 'Pass as `since` with `wait` to be answered on the next change.' }),
  SessionURL: Type.String(),
  SupporterName: Type.String(),
  SupporterAvatar: Type.String(),
  Pairing: Type.Boolean({ description: 'Whether the session has a pairing code.' }),
  CreatedAt: Type.String(),
  ExpiresAt: Type.String(),
  ConfirmedAt: Type.Union([Type.String(), Type.Null()]),
  ConnectedAt: Type.Union([Type.String(), Type.Null()]),
  PairingCodeExpiresAt: Type.Union([Type.String(), Type.Null()], { description: 'When the session\'s pairing code stops working, while one is live (the session waiting, the code neither expired, declined nor burned); null otherwise (then `POST /session/:id/code` gives a new one to a waiting session).' }),
});

export const SessionListView = Type.Object({ Sessions: Type.Array(SessionView) });

export const SessionIdParams = Type.Object({ id: Type.String({ pattern: SESSION_ID_PATTERN }) });
/** The language a page is asked in (`?lang=en`, `?lang=fr`, as its switch links): its refusals before the route (a rate limit, a bad address) say so in it too. */
export const PageLanguageQuery = Type.Object({
  lang: Type.Optional(Type.String({ maxLength: 5, description: 'The page\'s language (`en`, `fr`), for browsers; programs need not send it.' })),
});

export const RefParams = Type.Object({ ref: Type.String({ minLength: 3, maxLength: 200 }) });
export const PairingCodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });

export const SupporterChannelQuery = Type.Object({
  history: Type.Optional(Type.Boolean({ description: 'Send the chat so far after the state (a supporter who attaches again).' })),
});

export const PairingInfoView = Type.Object({
  AgentMSH: Type.String(),
  ExpiresAt: Type.String(),
  CompanyName: Type.String(),
  CompanyLogo: Type.String(),
  SupporterName: Type.String(),
  SupporterAvatar: Type.String(),
});

export const ConfirmBody = Type.Object(
  {
    Decision: Type.Optional(Type.String({ maxLength: 20, description: '`accept` (default) or `decline`.' })),
    decision: Type.Optional(Type.String({ maxLength: 20, description: 'The page form\'s field.' })),
    _csrf: Type.Optional(Type.String({ maxLength: 100 })),
    lang: Type.Optional(Type.String({ maxLength: 5, description: 'The page form\'s language (`en`, `fr`), when the person chose one: the page it leads to is shown in it.' })),
  },
  { additionalProperties: false },
);

export const ConfirmedView = Type.Object({
  SessionID: Type.String(),
  State: Type.String(),
  MeshServer: Type.String({ description: 'Open a WebSocket here and send {"type":"hello","credential":AgentCredential}.' }),
  AgentCredential: Type.Optional(Type.String({ description: 'The agent\'s session credential; shown once.' })),
  ExpiresAt: Type.String(),
  SupporterName: Type.String(),
  CompanyName: Type.String(),
});

export const PlexusErrorView = Type.Object({ Error: Type.String(), Description: Type.String(), Code: Type.String() });
