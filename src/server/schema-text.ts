/**
 * The text a schema is known by where compiled checks and serializers are kept for reuse
 * (request-validation.ts, response-serialization.ts): its JSON, which is all of it that Ajv and
 * fast-json-stringify read (TypeBox's `~kind` markers are not enumerable, so neither reads them),
 * or undefined for a schema holding what JSON would lose or change (a function, a regular
 * expression, a date, undefined, a number that is not finite, ...), which is then compiled each time.
 */
export function schemaText(schema: unknown): string | undefined {
  let plain = true;
  const text = JSON.stringify(schema, function (this: Record<string, unknown>, key, value: unknown) {
    // The value as the schema holds it, before any toJSON (a Date's) turned it into text.
    const held = key === '' ? schema : this[key];
    if (held === null || typeof held === 'string' || typeof held === 'boolean') return value;
    if (typeof held === 'number') {
      if (!Number.isFinite(held)) plain = false;
      return value;
    }
    if (typeof held === 'object' && (Array.isArray(held) || Object.getPrototypeOf(held) === Object.prototype || Object.getPrototypeOf(held) === null)) {
      if (typeof (held as { toJSON?: unknown }).toJSON === 'function') plain = false;
      return value;
    }
    plain = false;
    return undefined;
  });
  return plain ? text : undefined;
}
