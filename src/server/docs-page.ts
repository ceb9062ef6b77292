import { readFileSync } from 'node:fs';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';

/** pairgate's icon (the pages' favicon), shown in the docs page's top bar instead of Swagger UI's. */
const ICON = readFileSync(new URL('../../src/web/static/favicon.svg', import.meta.url));

/**
 * The policy of the `/docs` page, from the one @fastify/swagger-ui computes for its files. That one
 * says `frame-ancestors 'self'` (a second `frame-ancestors` appended after it is ignored by browsers,
 * with a console warning), lets images come from validator.swagger.io (a badge pairgate turns off)
 * and asks for `upgrade-insecure-requests`, which would send a plain-http server's docs to fetch
 * their script over https. Swagger UI sets style attributes from script, so the docs page alone
 * allows inline styles; never inline script, and never framed, like every page.
 */
export function docsPagePolicy(header: string): string {
  const directives = new Map<string, string>();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values.join(' '));
  }
  directives.set('style-src', "'self' 'unsafe-inline'");
  directives.set('img-src', "'self' data:");
  directives.set('frame-ancestors', "'none'");
  directives.delete('upgrade-insecure-requests');
  return [...directives].map(([name, values]) => (values ? `${name} ${values}` : name)).join('; ');
}

/** The options of the `/docs` page: pairgate's title and icon, no validator badge, the policy above. */
export function docsPageOptions(): FastifySwaggerUiOptions {
  return {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: docsPagePolicy,
    validatorUrl: false,
    theme: { title: 'pairgate API' },
    logo: { type: 'image/svg+xml', content: ICON },
  };
}
