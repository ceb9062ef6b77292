import { Type, type TObject, type TOptional, type TString } from 'typebox';

/** What the answer says of a `Prefer: wait=S`, the same on every route that reads it (`preferredWaitSeconds`). */
const APPLIED = 'The answer then says the wait it applied, bounded by the server: Preference-Applied: wait=<seconds>; it says none when this address already holds all the waits it may and is answered at once. A wait that is not a whole number of seconds, like any other preference, is ignored.';

/**
 * The `Prefer` header of a route that long-polls (`wait=S`, RFC 7240 4.3), for its OpenAPI
 * document; `use` says what the wait does on that route. Any text is accepted (no length, no
 * pattern): a preference the server does not understand is ignored (RFC 7240 2), never refused,
 * so declaring the header changes no request's answer.
 */
export function preferWaitHeaders(use: string): TObject<{ prefer: TOptional<TString> }> {
  return Type.Object({ prefer: Type.Optional(Type.String({ description: `wait=S: ${use} (Prefer, RFC 7240). ${APPLIED}` })) });
}

/** The long-poll's other spelling, for clients that cannot change the URL: on routes that read `?wait=`. */
export const PreferWaitHeaders = preferWaitHeaders('the same as ?wait=S when there is no ?wait');
