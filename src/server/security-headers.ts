import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The strict content security policy of every page: no inline script or style, not framable, no
 * picture from elsewhere (a page that shows one asks for `REMOTE_IMAGE_PAGE_HEADERS`).
 */
export const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  crossOriginEmbedderPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-site' },
  // As the policy's frame-ancestors 'none' says, for browsers that read only this header (helmet's
  // SAMEORIGIN told them a page of this origin could frame it, which the policy forbids).
  xFrameOptions: { action: 'deny' },
};

/**
 * The security headers helmet chooses, computed once. helmet decides the headers and their values;
 * since none of ours varies per request (no nonces), running its middleware on every request only
 * re-derived the same strings, at a third of the cost of a small request.
 */
export function securityHeaders(options: HelmetOptions = HELMET_OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => {});
  return headers;
}

/**
 * The page headers with pictures from any https origin allowed (`img-src ... https:`): for the one
 * page that shows pictures named by others, the support door's confirmation (the supporter's
 * avatar, the company logo). Every other page loads none, so a markup injection there could not
 * make the browser call out to an address of the attacker's with the page's visitor.
 */
export const REMOTE_IMAGE_PAGE_HEADERS: Readonly<Record<string, string>> = securityHeaders({
  ...HELMET_OPTIONS,
  contentSecurityPolicy: { useDefaults: false, directives: { ...CSP_DIRECTIVES, imgSrc: [...CSP_DIRECTIVES.imgSrc, 'https:'] } },
});

/**
 * The headers of machine answers (JSON under `/api/` and elsewhere, health and metrics), after OWASP's REST
 * security cheat sheet: nothing in them is ever rendered, so the page policy gives way to one that
 * allows nothing at all, and answers about grants and codes are never cached. Half as many headers
 * as a page's, which matters on the busiest routes (every header is validated and written).
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/** Paths whose answers are for programs, never rendered: they get the API headers. */
const MACHINE_PATHS = /^\/(api\/|healthz$|readyz$|metrics$)/;
/** Media types of data for programs: JSON (and its `+json` kinds) and event streams. */
const MACHINE_TYPES = /^(application\/([\w.-]+\+)?json|text\/event-stream)$/;

/** One entry of a route's `schema.response`, as far as telling data from pages needs. */
interface DocumentedAnswer {
  content?: Record<string, unknown>;
  type?: unknown;
}

/**
 * Whether a route answers programs only, by what its schema documents: every success (2xx, 3xx) is
 * JSON or an event stream, and none is a page or a redirect. The JSON routes outside `/api/` that
 * the specs fix (`/oauth/token`, `/access`, `/service/info`, `/mattermost/…`, the relay's
 * `/pairing`) hand out tokens and keys too, so their answers need `no-store` as much as the API's.
 * A route without a documented success, or with an HTML one, keeps the page set: the stricter
 * policy would break a page, while the page set on data only misses `no-store`.
 */
export function answersMachineData(schema: { response?: unknown; produces?: readonly string[] } | undefined): boolean {
  if (!schema?.response || typeof schema.response !== 'object') return false;
  if (schema.produces?.some((type) => !MACHINE_TYPES.test(type))) return false;
  const successes = Object.entries(schema.response as Record<string, DocumentedAnswer>).filter(([status]) => /^[23]/.test(status));
  return successes.length > 0 && successes.every(([, answer]) => isMachineAnswer(answer));
}

function isMachineAnswer(answer: DocumentedAnswer): boolean {
  if (answer.content) return Object.keys(answer.content).every((type) => MACHINE_TYPES.test(type));
  // A 303 to the next page (`seeOther`) has no body: the browser goes on to a page.
  return answer.type !== 'null';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The security headers of this route's answers (set for every route when it is added). */
    securityHeaders?: Readonly<Record<string, string>>;
  }
}

/**
 * Sends security headers on every answer: the full page set (helmet's choice, strict CSP) unless the
 * route is a machine path or documents only data answers (`answersMachineData`). The set is chosen once per route, when it is added; an answer without a
 * route (404) gets the page set.
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  const pageHeaders = securityHeaders();
  app.addHook('onRoute', (route) => {
    const machine = MACHINE_PATHS.test(route.url ?? '') || answersMachineData(route.schema as Parameters<typeof answersMachineData>[0]);
    const headers = machine ? API_SECURITY_HEADERS : pageHeaders;
    // A route may name its own (REMOTE_IMAGE_PAGE_HEADERS).
    route.config = { ...(route.config ?? {}), securityHeaders: route.config?.securityHeaders ?? headers };
  });
  // A callback hook, not an async one: no promise per request on every route.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.routeOptions.config?.securityHeaders ?? pageHeaders);
    done();
  });
}

/**
 * Sends the machine headers (`API_SECURITY_HEADERS`) on every answer of `app`, whatever its path or
 * route: for a listener that serves programs only (the DNS door's update API), where no answer is a
 * page and every one must be `no-store`. Installed before any other onRequest hook, so the answers
 * those hooks give (a refusal, a rate limit) carry them too.
 */
export function installMachineSecurityHeaders(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise per request.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(API_SECURITY_HEADERS);
    done();
  });
}
