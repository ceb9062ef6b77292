import { Type } from 'typebox';

/** Wire schemas of the relay (the seed's pc-assist.app pairing directory). */

export const PublishBody = Type.Object(
  { url: Type.Optional(Type.String({ description: 'Absolute http(s) URL of the origin\'s pairing endpoint, e.g. https://origin/pairing.' })) },
  { additionalProperties: true },
);

export const PublishedView = Type.Object({
  success: Type.Literal(true),
  code: Type.String({ description: 'Six-character code to read out.' }),
  pairing_url: Type.String({ description: 'The relay URL of the code; it redirects (302) to redirect_url.' }),
  redirect_url: Type.String({ description: 'The origin URL of the code.' }),
});

export const RelayCodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });
export const RelayGoQuery = Type.Object({ code: Type.Optional(Type.String({ maxLength: 64 })) });

export const RelayErrorView = Type.Object(
  { success: Type.Literal(false), error: Type.Optional(Type.String()), message: Type.Optional(Type.String()), wait_seconds: Type.Optional(Type.Number()), code: Type.String() },
  { additionalProperties: false },
);
