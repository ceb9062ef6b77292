import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';
import { schemaText } from './schema-text.js';

type BuildSerializer = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer']>;
type RouteResponse = { schema: unknown; method: string; url: string; httpStatus?: string; contentType?: string };
type Serialize = (data: unknown) => string;

/**
 * Compiled response serializers, by shared schemas, serializer options and schema text. Fastify
 * compiles one for every status of every route's `schema.response` (over 400 for the doors on by
 * default), most of them alike (the error shapes each route lists for its 400, 429, 503, ...), and
 * fast-json-stringify keeps none: each is made once per process instead, for `serve` and for all
 * the apps a test file builds. A serializer is a function of its input alone, so routes and apps
 * share it. The schemas are those of the code, so the map stays small.
 */
const compiledSerializers = new Map<string, Serialize>();

/**
 * Fastify's default serializer compiler (@fastify/fast-json-stringify-compiler, what Fastify uses
 * when given none), each serializer compiled once per process (`compiledSerializers`).
 */
export function responseSerialization(): BuildSerializer {
  const selector = SerializerSelector();
  return (externalSchemas, serializerOpts) => {
    const compile = selector(externalSchemas, serializerOpts) as unknown as (route: RouteResponse) => Serialize;
    const compilerKey = `${JSON.stringify(externalSchemas)}${JSON.stringify(serializerOpts ?? {})}`;
    return ((route: RouteResponse): Serialize => {
      const text = schemaText(route.schema);
      if (text === undefined) return compile(route);
      const key = `${compilerKey}\n${text}`;
      let serialize = compiledSerializers.get(key);
      if (!serialize) {
        serialize = compile(route);
        compiledSerializers.set(key, serialize);
      }
      return serialize;
    }) as never;
  };
}
