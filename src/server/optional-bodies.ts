import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body may be left out (its fields are all optional): it is read as `{}`, and OpenAPI says so. */
    optionalBody?: boolean;
  }
}

/** What @fastify/swagger hands `transformObject`: the document, in either of its two forms. */
interface SwaggerDocuments {
  openapiObject?: { paths?: Record<string, Record<string, { requestBody?: { required?: boolean } }>> };
}

/**
 * Routes whose body may be left out (`config.optionalBody`): a request without one is validated as
 * `{}`, and the OpenAPI document marks the body not required (@fastify/swagger marks every body
 * required). Call before the routes are added; pass the result as swagger's `transformObject`.
 */
export function installOptionalBodies(app: FastifyInstance): (documents: SwaggerDocuments) => unknown {
  const optional = new Set<string>();
  const emptyBody = async (request: FastifyRequest): Promise<void> => {
    request.body ??= {};
  };
  app.addHook('onRoute', (route) => {
    if (!route.config?.optionalBody) return;
    route.preValidation = [emptyBody, ...[route.preValidation ?? []].flat()];
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    for (const method of [route.method].flat()) optional.add(`${method.toLowerCase()} ${path}`);
  });
  return ({ openapiObject }) => {
    for (const [path, item] of Object.entries(openapiObject?.paths ?? {})) {
      for (const [method, operation] of Object.entries(item)) {
        if (operation.requestBody && optional.has(`${method} ${path}`)) operation.requestBody.required = false;
      }
    }
    return openapiObject;
  };
}
