import { Type, type Static, type TObject, type TProperties } from 'typebox';

/**
 * The core configuration keys, with their defaults and meaning: the one place they are documented.
 * Doors declare their own sections (`src/doors/<door>/config.ts`) in the same shape; the loader
 * merges every section into one schema, so every key is validated at start-up.
 */
export const coreConfigSchema = Type.Object({
  PAIRGATE_HOST: Type.String({
    // One address or name: an IPv6 address has two colons or more, so exactly one is a port; an
    // empty host made Node listen everywhere and the URL printed "http://:8080".
    pattern: '^(?![^:]*:[^:]*$)[^\\s/\\[\\]@,]+$',
    expected: 'one address of this machine (127.0.0.1, ::1, 0.0.0.0 for all of them) or its host name, alone: no brackets, scheme or port (the port is PAIRGATE_PORT)',
    default: '127.0.0.1',
    description: 'Address to listen on (0.0.0.0 for every interface).',
  }),
  PAIRGATE_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port; 0 picks a free one.' }),
  PAIRGATE_DATA_DIR: Type.String({ minLength: 1, default: './.pairgate', description: 'Folder of the embedded SQLite database and other state.' }),
  PAIRGATE_SQLITE_SYNC: Type.Union([Type.Literal('normal'), Type.Literal('full')], {
    default: 'normal',
    description:
      'When the embedded database (SQLite) flushes a commit to the disk. normal: at each checkpoint, every 100 ms on a thread of its own; a process crash loses nothing, but an OS crash or power loss may lose what was answered in the last moments (a grant created, a decision, a redeem), never the file. full: each commit is flushed before it is answered, nothing answered is lost, and each group commit holds the server for the flush (1-3 ms on an SSD).',
  }),
  PAIRGATE_DATABASE_URL: Type.String({ pattern: '^$|^postgres(ql)?://', default: '', description: 'postgres://user:password@host:5432/db: durable data (and, without Redis, grants and wake-ups) in PostgreSQL instead of SQLite; needed for more than one node.' }),
  PAIRGATE_DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'PostgreSQL connections per node.' }),
  PAIRGATE_CODE_HASH_KEY: Type.String({ default: '', description: 'Key (32 random bytes, base64: `openssl rand -base64 32`) under which codes are stored, HMAC-SHA-256, so a copy of the database gives no live code away. The same on every node. Empty: a key file `code-hash.key` in PAIRGATE_DATA_DIR, or with Redis or PostgreSQL a key drawn once and kept there with the grants (warned at start-up).' }),
  PAIRGATE_REDIS_URL: Type.String({ pattern: '^$|^rediss?://', default: '', description: 'redis://[:password@]host:6379[/db]: grants, ephemeral entries, wake-ups and rate limits in Redis, shared by every node.' }),
  PAIRGATE_REDIS_PREFIX: Type.String({ default: 'pairgate:', description: 'Prefix of every Redis key and channel of this deployment.' }),
  PAIRGATE_PUBLIC_URL: Type.String({
    pattern: '^$|^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
    expected: 'an http(s) URL without query or fragment, such as https://pair.example.com',
    default: '',
    description: 'Base URL clients use to reach this server (https://pair.example.com); default: the listening URL.',
  }),
  PAIRGATE_LOG_LEVEL: Type.Union(
    [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')],
    { default: 'info', description: 'Log level.' },
  ),
  PAIRGATE_TRUST_PROXY: Type.String({ default: '', description: 'Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed; empty = none.' }),
  PAIRGATE_BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 64 * 1024, description: 'Largest request body in bytes.' }),
  PAIRGATE_REQUEST_TIMEOUT_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 30,
    description: 'Time a client has to send a whole request, headers and body; a slower one gets 408 and is disconnected. Answers may take longer (long-polls, event streams).',
  }),
  PAIRGATE_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600, description: 'Requests per client IP per window, all routes together.' }),
  PAIRGATE_RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ minimum: 1, default: 60, description: 'Window of the global rate limit in seconds.' }),
  PAIRGATE_CODE_LOOKUPS_PER_MINUTE: Type.Integer({ minimum: 1, default: 30, description: 'Code look-ups per client IP per minute on every door (the brute-force rate).' }),
  PAIRGATE_CODE_MISSES_PER_HOUR: Type.Integer({ minimum: 1, default: 60, description: 'Failed code look-ups per client IP per hour before that IP is refused; at most a twelfth of them (at least 5, all when 5 or fewer) in any five minutes.' }),
  PAIRGATE_CODE_ATTEMPTS_PER_CODE: Type.Integer({ minimum: 1, default: 5, description: 'Wrong confirmations of one code before it is burned.' }),
  PAIRGATE_BRUTE_FORCE_BUDGET: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.001, description: 'Largest accepted chance that an attacker guesses any live code within its lifetime.' }),
  PAIRGATE_ATTACKER_ADDRESSES: Type.Integer({ minimum: 1, default: 1000, description: 'Addresses an attacker is assumed to control when the brute-force chance is computed.' }),
  PAIRGATE_MAX_LIVE_CODES: Type.Integer({ minimum: 1, default: 1000, description: 'Live codes of the generic grant API (/api/v1/grants) its brute-force budget is computed for: grants still pending (a decided grant has spent its code); creation beyond it is refused. Other doors have caps of their own.' }),
  PAIRGATE_WAITS_PER_CLIENT: Type.Integer({ minimum: 0, default: 100, description: 'Long-polls and event streams one client address (or /64) may hold open on a node at once; beyond, a long-poll answers at once and a stream is refused (0 = no limit).' }),
  PAIRGATE_WAITS_MAX: Type.Integer({ minimum: 0, default: 10000, description: 'Long-polls and event streams held open on a node at once, all clients together, so that a few hundred networks cannot take every file descriptor; beyond, a long-poll answers at once and a stream is refused (0 = no limit). Keep it well under the open-file limit (ulimit -n).' }),
  PAIRGATE_WAIT_MAX_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 60, description: 'Longest long-poll or wait a client may ask for.' }),
  PAIRGATE_GRANT_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 86400, default: 600, description: 'Lifetime of a generic grant (the /api/v1/grants door).' }),
  PAIRGATE_SWEEP_SECONDS: Type.Integer({ minimum: 1, default: 30, description: 'How often expired grants and entries are deleted.' }),
  PAIRGATE_SHUTDOWN_GRACE_SECONDS: Type.Integer({ minimum: 0, default: 10, description: 'How long shutdown waits for requests in flight.' }),
  PAIRGATE_BACKUP_DIR: Type.String({
    default: '',
    description: 'Folder for copies of the embedded database (SQLite), made at start-up and then every PAIRGATE_BACKUP_INTERVAL_HOURS; empty = none. Not with PostgreSQL (use pg_dump).',
  }),
  PAIRGATE_BACKUP_INTERVAL_HOURS: Type.Number({ exclusiveMinimum: 0, maximum: 8760, default: 24, description: 'Hours between two copies in PAIRGATE_BACKUP_DIR.' }),
  PAIRGATE_BACKUP_KEEP: Type.Integer({ minimum: 1, maximum: 1000, default: 7, description: 'Copies kept in PAIRGATE_BACKUP_DIR; older ones are deleted.' }),
  PAIRGATE_METRICS: Type.Boolean({ default: true, description: 'Serve Prometheus metrics at /metrics.' }),
  PAIRGATE_METRICS_TOKEN: Type.String({ default: '', description: 'Bearer token required for /metrics, at least 32 characters (e.g. `openssl rand -base64 32`); empty = open (bind to a private address then).' }),
});

/** The core keys as typed values. */
export type CoreConfig = Static<typeof coreConfigSchema>;

/** A door's configuration section. */
export type ConfigSection = TObject<TProperties>;
