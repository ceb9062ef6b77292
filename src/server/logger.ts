import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import { stdSerializers, type Bindings, type ChildLoggerOptions, type Logger, type LoggerOptions } from 'pino';

/** Fields whose values are secrets wherever they appear in a log object. */
const SECRET_FIELDS = [
  'password', 'secret', 'token', 'code', 'key', 'jwt', 'jwt_secret', 'access_token', 'refresh_token', 'device_code', 'user_code',
  'signing_secret', 'bot_access_token', '_csrf', 'AgentCredential',
];

/** Request headers that carry credentials (Basic and Bearer, session cookies, relay API keys, Mattermost's call JWT). */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'mattermost-app-authorization'];

/**
 * An error's `code` that is safe to log: Node's and libraries' error codes (`EEXIST`, `ERR_...`,
 * `FST_...`, `SQLITE_...`) and pairgate's own snake_case codes. Anything else (a user code that
 * found its way into a `code` field) stays out. No code alphabet reads as one of these: the
 * RFC 8628 consonants have no E, the others are lower case or digits without underscores.
 */
const ERROR_CODE = /^(?:E[A-Z0-9]{2,}|(?:ERR|FST|SQLITE|UND_ERR)_[A-Z0-9_]+|[a-z]+(?:_[a-z0-9]+)+)$/;

/**
 * pino's error serializer, with the error's code kept as `errorCode`: the redaction below hides
 * every `code` field (codes are secrets), which hid `EACCES` or `ENOSPC`, the one word an operator
 * reading a failure needs.
 */
function serializeError(error: Error & { code?: unknown }): Record<string, unknown> {
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
  if (typeof error?.code === 'string' && ERROR_CODE.test(error.code)) serialized.errorCode = error.code;
  return serialized;
}

/**
 * Log options: secrets never reach a log. Requests are logged by route pattern
 * (`/pairing/:code`), not by URL, so codes, keys and tokens in paths and query strings stay out;
 * headers and bodies are not logged, and the paths below are redacted wherever they appear.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      // Each secret field at the top of a log object and one level down (`*.` alone skips the top).
      paths: [
        // A request's headers at the top of a log object and one level down: plugins log them
        // there, e.g. @fastify/multipart at trace (`{busboyOptions: {headers}}`), which wrote the
        // support API's Basic credentials in clear (test/e2e/log-secrets-sweep.test.ts).
        ...SECRET_HEADERS.flatMap((header) => [`headers["${header}"]`, `*.headers["${header}"]`]),
        ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
      ],
      censor: '[redacted]',
    },
    serializers: {
      err: serializeError,
      req(request: FastifyRequest) {
        return {
          method: request.method,
          route: request.routeOptions?.url ?? '(no route)',
          ip: request.ip,
        };
      },
    },
  };
}

/** The log methods of a request logger, most severe first. */
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
type LevelName = (typeof LEVELS)[number];
type LogMethod = (...args: unknown[]) => void;

/**
 * A request's logger that becomes a real pino child (with the request id bound) only when a line
 * at an enabled level is written. Fastify makes a logger for every request, and binding the id
 * (serialising it for every line to come) costs more than a small request's handler; most requests
 * never log a line above the configured level, so they never pay for it.
 */
export class LazyRequestLogger {
  private real: FastifyBaseLogger | undefined;
  /** Makes the real child: pino's own `child` of `parent` (see makeChildrenLazy). */
  private readonly makeChild: (bindings: Bindings, options?: ChildLoggerOptions) => FastifyBaseLogger;
  declare readonly fatal: LogMethod;
  declare readonly error: LogMethod;
  declare readonly warn: LogMethod;
  declare readonly info: LogMethod;
  declare readonly debug: LogMethod;
  declare readonly trace: LogMethod;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
    makeChild?: (bindings: Bindings, options?: ChildLoggerOptions) => FastifyBaseLogger,
  ) {
    this.makeChild = makeChild ?? ((childBindings, childOptions) => parent.child(childBindings, childOptions));
  }

  get level(): string {
    return this.parent.level;
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.materialise().child(bindings, options);
  }

  private materialise(): FastifyBaseLogger {
    this.real ??= Object.keys(this.options).length > 0 ? this.makeChild(this.bindings, this.options) : this.makeChild(this.bindings);
    return this.real;
  }

  static {
    for (const level of LEVELS) {
      Object.defineProperty(LazyRequestLogger.prototype, level, {
        value(this: LazyRequestLogger, ...args: unknown[]): void {
          if (!this.parent.isLevelEnabled(level)) return;
          (this.materialise()[level as LevelName] as LogMethod)(...args);
        },
      });
    }
  }
}

/**
 * Makes the children of `logger` (the app's logger, which Fastify asks for each request's logger)
 * lazy: see LazyRequestLogger. Done on the logger rather than with Fastify's `childLoggerFactory`,
 * because Fastify checks the logger a factory of its own returns, method by method, on every
 * request (seven property reads by name through V8's slowest path), and skips that check only for
 * its default factory, which calls `child`.
 */
export function makeChildrenLazy(logger: FastifyBaseLogger): void {
  // Fastify's logger is the pino instance it made from our options, with pino's whole interface.
  const root = logger as Logger;
  const pinoChild = root.child.bind(root);
  const makeChild = (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger => pinoChild(bindings, options);
  Object.defineProperty(root, 'child', {
    value: (bindings: Bindings, options?: ChildLoggerOptions) => new LazyRequestLogger(root, bindings, options ?? {}, makeChild),
    configurable: true,
    writable: true,
  });
}

/** Levels at which pino writes info lines. */
const INFO_OR_FINER = new Set(['info', 'debug', 'trace']);

/**
 * Fastify's log controller, told the configured level. Fastify writes two info lines for every
 * request ("incoming request", "request completed") and, to do so, reads the elapsed time and
 * builds their fields on every request, also when the level is above info and the lines are
 * dropped: about 3% of a grant creation's CPU. At such a level this controller skips those two
 * lines; a request that errored is logged as before, at error.
 */
export class RequestLineController extends LogController {
  private readonly infoLines: boolean;

  constructor(level: string) {
    super();
    this.infoLines = INFO_OR_FINER.has(level);
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (this.infoLines) super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error || this.infoLines) super.requestCompleted(error, request, reply);
  }
}

/**
 * Logs, at info, the end of a request whose client closed its connection before the answer (one
 * that left while its password waited): status 499, as nginx logs it, and `status`, the one the
 * answer would have had, where it differs. Fastify writes its "request completed" line when a response finishes, and
 * one sent to a closed connection never does, so such a request left no line at all.
 */
export function logClientGone(request: FastifyRequest, reply: FastifyReply, status: number): void {
  const line = { res: { statusCode: 499 }, responseTime: reply.elapsedTime };
  request.log.info(status === 499 ? line : { ...line, wouldHaveBeen: status }, 'request ended: the client closed the connection first');
}
