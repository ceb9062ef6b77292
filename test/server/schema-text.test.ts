import { describe, expect, it } from 'vitest';
import { Type } from 'typebox';
import { schemaText } from '../../src/server/schema-text.js';

describe('schemaText (the key compiled checks and serializers are kept under)', () => {
  it('is the JSON of a plain schema, TypeBox markers left out, so alike schemas share one', () => {
    const a = Type.Object({ label: Type.String({ maxLength: 3 }) });
    const b = Type.Object({ label: Type.String({ maxLength: 3 }) });
    expect(schemaText(a)).toBe('{"type":"object","required":["label"],"properties":{"label":{"type":"string","maxLength":3}}}');
    expect(schemaText(a)).toBe(schemaText(b));
    expect(schemaText(Type.Object({ label: Type.String({ maxLength: 4 }) }))).not.toBe(schemaText(a));
  });

  it('is undefined for a schema holding what JSON would lose or change (compiled each time instead)', () => {
    for (const odd of [Infinity, NaN, undefined, () => true, /x/, new Date(0), { toJSON: () => 'x' }, new Map()]) {
      expect(schemaText({ type: 'object', properties: { x: { const: odd } } })).toBeUndefined();
    }
    expect(schemaText(undefined)).toBeUndefined();
  });
});
