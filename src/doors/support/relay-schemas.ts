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
  expires_in: Type.Integer({ description: 'Seconds until the code stops working here; added to the original answer, so an origin never says a code lives longer than the relay keeps it (seconds from now, so the two machines\' clocks need not agree).' }),
});

export const RelayCodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });
/** The language the page is asked in (`?lang=`, as its switch links), so its refusals before the route say so in it too. */
const PageLanguage = Type.Optional(Type.String({ maxLength: 5, description: 'The page\'s language (`en`, `fr`), when the person chose one: carried on to the origin\'s page.' }));
export const RelayPageQuery = Type.Object({ lang: PageLanguage });
/**
 * `code` is checked by the handler, not here: the schema's refusal (`querystring.code must NOT have
 * more than 64 characters`, or of an array when the address gives it twice) speaks of the query,
 * not of the code a person typed.
 */
export const RelayGoQuery = Type.Object({ code: Type.Optional(Type.Unknown({ description: 'The code typed in the page\'s form.' })), lang: PageLanguage });

export const RelayErrorView = Type.Object(
  { success: Type.Literal(false), error: Type.Optional(Type.String()), message: Type.Optional(Type.String()), wait_seconds: Type.Optional(Type.Number()), code: Type.String() },
  { additionalProperties: false },
);
