/**
 * The part of a JSON Schema, as the server's OpenAPI document writes them, that the tests which
 * build requests from that document read (the conformance sweep, the fuzzer).
 */
export interface OpenApiSchema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
}
