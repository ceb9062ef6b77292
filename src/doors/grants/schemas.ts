import { Type, type Static } from 'typebox';

/** Wire schemas of the generic grant API; the OpenAPI document is generated from them. */

export const GrantIdParams = Type.Object({ id: Type.String({ minLength: 10, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
export const CodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });

export const CreateGrantBody = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: 200, description: 'What the approver is shown.' }),
    ttl: Type.Optional(Type.Integer({ minimum: 10, maximum: 86400, description: 'Lifetime in seconds; one longer than the server allows (PAIRGATE_GRANT_TTL_SECONDS, 600 by default) is shortened to it, as expiresAt shows.' })),
    data: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1000 }), { maxProperties: 20, description: 'Small string facts shown to the approver.' })),
  },
  { additionalProperties: false },
);
export type CreateGrantBody = Static<typeof CreateGrantBody>;

export const DecisionBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 500, description: 'Passed to the creator with the result.' })) },
  { additionalProperties: false },
);
export type DecisionBody = Static<typeof DecisionBody>;

export const RedeemBody = Type.Object({ secret: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });

/** The long-poll's other spelling (RFC 7240), for clients that cannot change the URL. */
export const WaitHeaders = Type.Object({
  prefer: Type.Optional(Type.String({ maxLength: 200, description: 'wait=S: the same as ?wait=S when there is no ?wait (Prefer, RFC 7240). The answer then says the wait it applied, bounded by the server: Preference-Applied: wait=<seconds>; it says none when this address already holds all the waits it may and is answered at once.' })),
});

export const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds to wait for a change (bounded by the server).' })),
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'Answer once the version exceeds this one.' })),
});

export const GrantView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  state: Type.String(),
  version: Type.Integer(),
  label: Type.String(),
  data: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String(),
  expiresAt: Type.String(),
});

export const CreatedGrantView = Type.Intersect([
  GrantView,
  Type.Object({
    code: Type.String({ description: 'The code to read out, grouped for display.' }),
    secret: Type.String({ description: 'Kept by the creator to redeem the grant; shown once.' }),
    waitUrl: Type.String(),
    eventsUrl: Type.String(),
  }),
]);

export const CodeView = Type.Object({
  label: Type.String(),
  data: Type.Record(Type.String(), Type.String()),
  state: Type.String(),
  expiresAt: Type.String(),
});

export const RedeemedView = Type.Object({ id: Type.String(), state: Type.String(), approvedBy: Type.String(), note: Type.Union([Type.String(), Type.Null()]) });

export const ErrorView = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true });
