import { ConfigError, UnavailableError, type PairgateError } from '../core/errors.js';

/**
 * Recognising "the backing store is unreachable" across drivers (node sockets, pg, ioredis), so the
 * server answers 503 `store_unavailable` instead of 500, and start-up says which service is down.
 */

/** PostgreSQL SQLSTATEs of a server that answers but has no connection or resource to spare. */
const PG_BUSY_CODES = ['53000', '53100', '53200', '53300', '53400'];

/** Node socket errors and PostgreSQL SQLSTATEs that mean "not reachable now, retry later". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection failure / exception.
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006',
  // PostgreSQL's class 53, insufficient resources: no connection to spare (max_connections, a role's
  // CONNECTION LIMIT: nodes x pool size above it), disk full, out of memory. It passes.
  ...PG_BUSY_CODES,
]);

/**
 * SQLite result codes of a database file that cannot be written now: a full disk, a file system
 * remounted read-only after errors, failing I/O. Retrying later is the answer (a 503), not a bug.
 */
const SQLITE_CANNOT_WRITE = /^SQLITE_(FULL|READONLY|IOERR)/;

/** Messages of pg and ioredis errors that carry no code but mean the same. */
const UNREACHABLE_MESSAGES = [
  /Connection terminated/i, // pg: the server went away mid-query
  /timeout exceeded when trying to connect/i, // pg pool
  /Query read timeout/i, // pg query_timeout
  /Client has encountered a connection error/i, // pg
  /enableOfflineQueue/i, // ioredis: disconnected and the offline queue is off (fail fast)
  /Connection is closed/i, // ioredis
  /Reached the max retries per request limit/i, // ioredis MaxRetriesPerRequestError
  /Command timed out/i, // ioredis commandTimeout
  /LOADING Redis is loading/i,
];

/** True when `error` (or its cause) says a backing store cannot be reached right now. */
export function isStoreUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { code, name, message } = current as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
    if (typeof code === 'string' && SQLITE_CANNOT_WRITE.test(code)) return true;
    if (name === 'MaxRetriesPerRequestError') return true;
    if (typeof message === 'string' && UNREACHABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    const aggregate = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(aggregate) && aggregate.some((inner) => isStoreUnreachable(inner))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * PostgreSQL SQLSTATEs of a transaction ended for another's sake: a deadlock it was chosen to break
 * (40P01), a serialization failure (40001), a lock it could not have (55P03). Nothing it did was
 * kept, and the same request again is likely to pass: a 503 to retry, not a 500. Each is still
 * logged (a deadlock is a lock order to mend).
 */
const PG_CONFLICT_CODES = new Set(['40P01', '40001', '55P03']);

/** True when `error` (or its cause) is a transaction PostgreSQL ended for a conflict with another (`PG_CONFLICT_CODES`). */
export function isStoreConflict(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && PG_CONFLICT_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Query parameters of a connection URL that hold a secret. */
const SECRET_PARAMETER = /pass|secret|token/i;

/** A connection URL fit for logs and messages: the password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // pg and ioredis also take a password from the query string (?password=, ?sslpassword=).
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAMETER.test(name)) parsed.searchParams.set(name, '***');
    }
    return parsed.toString();
  } catch {
    // Not a URL we can parse: show the scheme at most, never the rest (it may hold a password).
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
    return scheme ? `${scheme}//(unparsable URL)` : '(unparsable URL)';
  }
}

/**
 * Refuses a store URL no parser reads, before a driver says only "Invalid URL" (ioredis, without
 * the key) or it is taken for a store that does not answer: a setting to change.
 */
export function checkStoreUrl({ key, url }: StoreSetting, example: string): void {
  if (URL.canParse(url)) return;
  throw new ConfigError(key, `${redactUrl(url)} is not a URL pairgate can read (a port above 65535? a bracket not closed? a character of the password that must be percent-encoded, such as # ? / or %: write it as encodeURIComponent gives it); expected ${example}`);
}

/** A store's connection setting, as start-up messages name it. */
export interface StoreSetting {
  /** The service, for people: `PostgreSQL`, `Redis`. */
  service: string;
  /** The configuration key that holds the URL. */
  key: string;
  /** The URL itself (redacted before it is shown). */
  url: string;
}

/** Why a store that answered refused us: each is a setting the operator changes, not a wait. */
type Refusal = 'credentials' | 'database' | 'permission' | 'redis-db' | 'taken' | 'tls';

/**
 * PostgreSQL SQLSTATEs of a refusal: wrong password, unknown role or pg_hba.conf rule, unknown
 * database, no right; and a migration finding a table, index or type of the name it makes already
 * there (duplicate_table, duplicate_object): a database another application uses, which no
 * restart mends (it exited 1, and a supervisor restarted it forever).
 */
const PG_REFUSALS: Record<string, Refusal> = { '28P01': 'credentials', '28000': 'credentials', '3D000': 'database', '42501': 'permission', '42P07': 'taken', '42710': 'taken' };

/** Replies of a refusal without a SQLSTATE: Redis's (6+ and older wordings), and pg's own. */
const REDIS_REFUSALS: [RegExp, Refusal][] = [
  [/^(WRONGPASS|NOAUTH|ERR (AUTH|invalid password|Client sent AUTH))/i, 'credentials'],
  [/^NOPERM/i, 'permission'],
  [/^ERR (DB index is out of range|invalid DB index)/i, 'redis-db'],
  // pg, asked for TLS (sslmode=require) by a server that has none.
  [/^The server does not support SSL connections/i, 'tls'],
];

/** The refusal `error` (or its cause) stands for, if it is one. */
function refusalOf(error: unknown): Refusal | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code in PG_REFUSALS) return PG_REFUSALS[code];
    const text = typeof message === 'string' ? message : '';
    const redis = REDIS_REFUSALS.find(([pattern]) => pattern.test(text));
    if (redis) return redis[1];
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * True when `error` says a store that answered refused us (credentials, a missing database or
 * right, a Redis database number out of range): a setting to change, not a wait.
 */
export function isStoreRefusal(error: unknown): boolean {
  return refusalOf(error) !== undefined;
}

/** The driver's reason in one line, with its code when the message lacks it. */
function reasonOf(cause: unknown): string {
  const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message.trim().replace(/\.$/, '') : '';
  const codeText = typeof code === 'string' || typeof code === 'number' ? String(code) : '';
  return [text, codeText && !text.includes(codeText) ? `(${codeText})` : ''].filter(Boolean).join(' ') || 'no answer';
}

/** What the operator does about a refusal, naming the setting to change. */
function remedy(refusal: Refusal, { key, url }: StoreSetting): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const user = decodeURIComponent(parsed?.username ?? '') || '<user>';
  const database = decodeURIComponent(parsed?.pathname.slice(1) ?? '') || '<database>';
  switch (refusal) {
    case 'credentials':
      return `put a user name and password it accepts in ${key}`;
    case 'database':
      return `create the database (createdb -O ${user} ${database}) or name one that exists in ${key}`;
    case 'permission':
      return `pairgate creates and migrates its tables at start-up: let the user of ${key} do so (GRANT CREATE ON SCHEMA public TO ${user}, or make it the database's owner)`;
    case 'tls':
      return `turn TLS on in the server, or take sslmode=require (or ssl=true) out of ${key}`;
    case 'taken':
      return `the database holds a table or object of that name that pairgate did not make (another application's?), and nothing was changed: give pairgate a database of its own (createdb -O ${user} pairgate) in ${key}`;
    case 'redis-db':
      return `a Redis server has databases 0 to 15 unless its "databases" setting says more: name one of them at the end of ${key}`;
  }
}

/** What to do when PostgreSQL has no connection to spare. */
const BUSY_REMEDY = 'PostgreSQL has no connection or resource to spare: raise its max_connections (or the role\'s CONNECTION LIMIT) above nodes x (PAIRGATE_DATABASE_POOL_SIZE + 1), or lower PAIRGATE_DATABASE_POOL_SIZE';

/** True when `error` is PostgreSQL saying it has no connection or resource to spare. */
function busy(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && PG_BUSY_CODES.includes(code);
}

/**
 * The error start-up fails with when the store of `setting` does not answer or refuses us. A
 * refusal (credentials, a missing database, a missing right, a Redis database number out of range)
 * is a setting to change: a `config_invalid` naming the key (`serve` exits 2). No answer may be
 * passing (the store is starting too): `store_unavailable` (exit 1, a supervisor tries again). The
 * URL is shown with its password redacted.
 */
export function storeStartError(setting: StoreSetting, cause: unknown): PairgateError {
  const where = `${setting.service} at ${redactUrl(setting.url)}`;
  const refusal = refusalOf(cause);
  const error = refusal
    ? new ConfigError(setting.key, `${where} refused: ${reasonOf(cause)}; ${remedy(refusal, setting)}`)
    : new UnavailableError(`cannot use ${where}: ${reasonOf(cause)}; ${busy(cause) ? BUSY_REMEDY : `is ${setting.service} running there? Start it, or correct the host and port in ${setting.key}`}`, 'store_unavailable');
  return Object.assign(error, { cause });
}
