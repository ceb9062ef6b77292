import { Type, type TObject, type TOptional, type TString } from 'typebox';

/** What the answer says of a `Prefer: wait=S`, the same on every route that reads it (`preferredWaitSeconds`). */
const APPLIED = 'The answer then says the wait it applied, bounded by the server: Preference-Applied: wait=<seconds>; it says none when nothing was held: an answer given at once because there is nothing to wait for (an unknown id) or because this address already holds all the waits it may. A wait that is not a whole number of seconds, like any other preference, is ignored.';

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

/** Seconds as a query writes them: decimal digits, perhaps a fraction (also `queryWaitSeconds`' check). */
export const WAIT_PATTERN = '^[0-9]+(?:\\.[0-9]+)?$';

/**
 * The `?wait=S` of a route that long-polls: the seconds to wait for `awaited` (`a change`, `the
 * decision`) before answering, read by `requestedWaitSeconds`. The one definition of what every
 * such route accepts, decimal seconds, so a bad wait is refused alike everywhere: one the schema
 * refuses (`abc`, `-1`, `0x10`, an empty `?wait=`) is answered `invalid_wait` by the server's error
 * handler (`isWaitFailure` finds it by its name, `/wait`), in the door's error shape, and one too
 * long to be a finite number (400 digits) by `queryWaitSeconds`.
 */
export function waitSeconds(awaited: string): TOptional<TString> {
  // A string of decimal digits, not a number: Ajv turns any text JavaScript reads as a number
  // into one (`0x10` became a wait of 16 s, `1e3` of 1000), where seconds are written in digits.
  return Type.Optional(Type.String({ pattern: WAIT_PATTERN, description: `Seconds to wait for ${awaited} (bounded by the server), in decimal digits (30, 2.5). Anything else is 400 invalid_wait.` }));
}

/**
 * The query of a route that long-polls something versioned (a grant, a support session): `?wait=S`
 * for its next change and `?since=V`, the version the client already has. A route without
 * versions (GET /access/:key, Pryv's, which waits for the decision) declares `waitSeconds` alone,
 * so a `since` there stays an unknown parameter, ignored, as before.
 */
export const WaitQuery = Type.Object({
  wait: waitSeconds('a change'),
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'Answer once the version exceeds this one.' })),
});
